import io.gopythongo.Step

// gopythongoVersion computes the version of the build (gopythongo-version) and
// returns the outputs read back from dist/gopythongo.properties with
// readProperties: GOPYTHONGO_SEMVER, _PEP440, _DEBIAN, _OCI_TAG, _CHANNEL, _SHA.
//
//   def v = gopythongoVersion(explain: true, settings: ['version.fetch': true])
//   echo "building ${v.GOPYTHONGO_SEMVER}"
//
// Options: explain, branch, tag, pr, prTarget, artifactSha256; configFile, dist,
// settings (any configuration key).
def call(Map config = [:]) {
    def options = [explain: 'GPG_EXPLAIN', branch: 'GPG_BRANCH', tag: 'GPG_TAG', pr: 'GPG_PR', prTarget: 'GPG_PR_TARGET', artifactSha256: 'GPG_ARTIFACT_SHA256']
    withEnv(Step.env(env.WORKSPACE, config, options)) {
        sh label: 'gopythongo-version', script: 'gopythongo-version ${GPG_CONFIG:+--config "$GPG_CONFIG"} ${GPG_EXPLAIN:+--explain} ${GPG_BRANCH:+--branch "$GPG_BRANCH"} ${GPG_TAG:+--tag "$GPG_TAG"} ${GPG_PR:+--pr "$GPG_PR"} ${GPG_PR_TARGET:+--pr-target "$GPG_PR_TARGET"} ${GPG_ARTIFACT_SHA256:+--artifact-sha256 "$GPG_ARTIFACT_SHA256"}'
    }
    return readProperties(file: "${Step.dist(config)}/gopythongo.properties")
}
