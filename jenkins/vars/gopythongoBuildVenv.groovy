import io.gopythongo.Step

// gopythongoBuildVenv builds the venv at its deploy path into dist/root
// (gopythongo-build-venv), or with distOnly the project's wheel and sdist.
//
//   gopythongoBuildVenv(settings: ['venv.cache_dir': "${env.HOME}/.cache/gopythongo"])
//   gopythongoBuildVenv(distOnly: true)
def call(Map config = [:]) {
    def options = [distOnly: 'GOPY_DIST_ONLY', noCache: 'GOPY_NO_CACHE', verbose: 'GOPY_VERBOSE']
    withEnv(Step.env(env.WORKSPACE, config, options)) {
        sh label: 'gopythongo-build-venv', script: 'gopythongo-build-venv ${GOPY_CONFIG:+--config "$GOPY_CONFIG"} ${GOPY_DIST_ONLY:+--dist-only} ${GOPY_NO_CACHE:+--no-cache} ${GOPY_VERBOSE:+--verbose}'
    }
}
