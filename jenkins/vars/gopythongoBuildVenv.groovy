import io.gopythongo.Step

// gopythongoBuildVenv builds the venv at its deploy path into dist/root
// (gopythongo-build-venv), or with distOnly the project's wheel and sdist.
//
//   gopythongoBuildVenv(settings: ['venv.cache_dir': "${env.HOME}/.cache/gopythongo"])
//   gopythongoBuildVenv(distOnly: true)
def call(Map config = [:]) {
    def options = [distOnly: 'GPG_DIST_ONLY', noCache: 'GPG_NO_CACHE', verbose: 'GPG_VERBOSE']
    withEnv(Step.env(env.WORKSPACE, config, options)) {
        sh label: 'gopythongo-build-venv', script: 'gopythongo-build-venv ${GPG_CONFIG:+--config "$GPG_CONFIG"} ${GPG_DIST_ONLY:+--dist-only} ${GPG_NO_CACHE:+--no-cache} ${GPG_VERBOSE:+--verbose}'
    }
}
