import io.gopythongo.Step

// gopythongoSetup installs the GoPythonGo binaries into .gopythongo/bin of the
// workspace (its root, also when called inside dir(), where the other vars
// look for them) and stashes them as 'gopythongo-bin' for stages on other
// agents:
//
//   gopythongoSetup(version: '1.2.0', sha256: '<sha256 of the linux/amd64 archive>')
//   gopythongoSetup(source: 'v1.2.0')      // go install from the module, needs Go
//   gopythongoSetup(unstash: true)         // on a later agent
//
// A download is checked against the sha256 given; there is no download without one.
def call(Map config = [:]) {
    String bin = "${env.WORKSPACE}/${Step.BIN}"
    if (config.unstash) {
        dir(env.WORKSPACE) { unstash 'gopythongo-bin' }
        return
    }
    if (config.version) {
        if (!config.sha256) {
            error 'gopythongoSetup: version needs sha256, the sum of the release archive (actions/setup/checksums.txt of that release)'
        }
        withEnv(["GOPY_BIN=${bin}", "GOPY_VERSION=${config.version}", "GOPY_SHA256=${config.sha256}", "GOPY_OS=${config.os ?: 'linux'}", "GOPY_ARCH=${config.arch ?: 'amd64'}",
                 "GOPY_URL=${config.url ?: 'https://github.com/gopythongo/gopythongo/releases/download'}"]) {
            sh label: 'install GoPythonGo', script: '''
                set -eu
                archive="gopythongo_${GOPY_VERSION#v}_${GOPY_OS}_${GOPY_ARCH}.tar.gz"
                mkdir -p "$GOPY_BIN"
                curl -fsSL --retry 4 -o "$GOPY_BIN/../$archive" "$GOPY_URL/v${GOPY_VERSION#v}/$archive"
                echo "$GOPY_SHA256  $GOPY_BIN/../$archive" | sha256sum -c -
                tar -C "$GOPY_BIN" -xzf "$GOPY_BIN/../$archive"
                rm "$GOPY_BIN/../$archive"
                echo "GoPythonGo installed: $("$GOPY_BIN/gopythongo-version" --version)"
            '''
        }
    } else {
        withEnv(["GOPY_BIN=${bin}", "GOPY_SOURCE=${config.source ?: 'latest'}"]) {
            sh label: 'build GoPythonGo', script: '''
                set -eu
                GOBIN="$GOPY_BIN" go install "github.com/gopythongo/gopythongo/steps/...@$GOPY_SOURCE"
                echo "GoPythonGo installed: $("$GOPY_BIN/gopythongo-version" --version)"
            '''
        }
    }
    dir(env.WORKSPACE) { stash name: 'gopythongo-bin', includes: "${Step.BIN}/**" }
}
