// gopythongoSetup installs the GoPythonGo binaries into .gopythongo/bin of the
// workspace and stashes them as 'gopythongo-bin' for stages on other agents:
//
//   gopythongoSetup(version: '1.2.0', sha256: '<sha256 of the linux/amd64 archive>')
//   gopythongoSetup(source: 'v1.2.0')      // go install from the module, needs Go
//   gopythongoSetup(unstash: true)         // on a later agent
//
// A download is checked against the sha256 given; there is no download without one.
def call(Map config = [:]) {
    if (config.unstash) {
        unstash 'gopythongo-bin'
        return
    }
    if (config.version) {
        if (!config.sha256) {
            error 'gopythongoSetup: version needs sha256, the sum of the release archive (actions/setup/checksums.txt of that release)'
        }
        withEnv(["GPG_VERSION=${config.version}", "GPG_SHA256=${config.sha256}", "GPG_OS=${config.os ?: 'linux'}", "GPG_ARCH=${config.arch ?: 'amd64'}",
                 "GPG_URL=${config.url ?: 'https://github.com/gopythongo/gopythongo/releases/download'}"]) {
            sh label: 'install GoPythonGo', script: '''
                set -eu
                archive="gopythongo_${GPG_VERSION#v}_${GPG_OS}_${GPG_ARCH}.tar.gz"
                mkdir -p .gopythongo/bin
                curl -fsSL --retry 4 -o ".gopythongo/$archive" "$GPG_URL/v${GPG_VERSION#v}/$archive"
                echo "$GPG_SHA256  .gopythongo/$archive" | sha256sum -c -
                tar -C .gopythongo/bin -xzf ".gopythongo/$archive"
                rm ".gopythongo/$archive"
            '''
        }
    } else {
        withEnv(["GPG_SOURCE=${config.source ?: 'latest'}"]) {
            sh label: 'build GoPythonGo', script: '''
                set -eu
                GOBIN="$PWD/.gopythongo/bin" go install "github.com/gopythongo/gopythongo/steps/...@$GPG_SOURCE"
            '''
        }
    }
    stash name: 'gopythongo-bin', includes: '.gopythongo/bin/**'
}
