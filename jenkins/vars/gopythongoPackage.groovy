import io.gopythongo.Step

// gopythongoPackage makes the artifacts of dist/root (gopythongo-package),
// archives them, and stashes dist/ (without the staging tree) as 'dist' for
// the publish stage.
//
//   gopythongoPackage(formats: ['deb', 'oci'])
def call(Map config = [:]) {
    def c = config.clone()
    if (c.formats instanceof List) {
        c.formats = c.formats.join(' ')
    }
    String dist = Step.dist(config)
    withEnv(Step.env(env.WORKSPACE, c, [formats: 'GOPY_FORMATS'])) {
        sh label: 'gopythongo-package', script: 'set -f; set --; for f in ${GOPY_FORMATS:-}; do set -- "$@" --format "$f"; done; gopythongo-package ${GOPY_CONFIG:+--config "$GOPY_CONFIG"} "$@"'
    }
    if (config.archive != false) {
        archiveArtifacts artifacts: "${dist}/*.deb, ${dist}/*.rpm, ${dist}/*.tar.*, ${dist}/*.cdx.json, ${dist}/SHA256SUMS", allowEmptyArchive: true, fingerprint: true
    }
    stash name: 'dist', includes: "${dist}/**", excludes: "${dist}/root/**"
}
