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
    def options = [explain: 'GOPY_EXPLAIN', branch: 'GOPY_BRANCH', tag: 'GOPY_TAG', pr: 'GOPY_PR', prTarget: 'GOPY_PR_TARGET', artifactSha256: 'GOPY_ARTIFACT_SHA256']
    withEnv(Step.env(env.WORKSPACE, config, options)) {
        sh label: 'gopythongo-version', script: 'gopythongo-version ${GOPY_CONFIG:+--config "$GOPY_CONFIG"} ${GOPY_EXPLAIN:+--explain} ${GOPY_BRANCH:+--branch "$GOPY_BRANCH"} ${GOPY_TAG:+--tag "$GOPY_TAG"} ${GOPY_PR:+--pr "$GOPY_PR"} ${GOPY_PR_TARGET:+--pr-target "$GOPY_PR_TARGET"} ${GOPY_ARTIFACT_SHA256:+--artifact-sha256 "$GOPY_ARTIFACT_SHA256"}'
    }
    return readProperties(file: "${Step.dist(config)}/gopythongo.properties")
}
