import io.gopythongo.Step

// gopythongoPublish publishes the stashed artifacts (gopythongo-publish) with
// the credentials the stores need, bound by withCredentials to the variables
// that publish.stores names (password_env, signing_key_file_env, …):
//
//   gopythongoPublish(stores: ['registry', 'apt'], credentials: [
//       [type: 'usernamePassword', id: 'registry', usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD'],
//       [type: 'usernamePassword', id: 'aptly', usernameVariable: 'APTLY_USER', passwordVariable: 'APTLY_PASSWORD'],
//       [type: 'file', id: 'apt-signing-key', variable: 'APT_SIGNING_KEY_FILE'],
//       [type: 'string', id: 'pypi-token', variable: 'PYPI_TOKEN'],
//   ])
//
// The secrets reach the binary only through the environment: the sh script is
// a fixed single-quoted string.
def call(Map config = [:]) {
    def c = config.clone()
    if (c.stores instanceof List) {
        c.stores = c.stores.join(' ')
    }
    def bindings = Step.credentialBindings(config.credentials ?: [])
    if (config.unstash != false) {
        unstash 'dist'
    }
    withCredentials(bindings) {
        withEnv(Step.env(env.WORKSPACE, c, [stores: 'GOPY_STORES', force: 'GOPY_FORCE', overwrite: 'GOPY_OVERWRITE'])) {
            sh label: 'gopythongo-publish', script: 'set -f; set --; for s in ${GOPY_STORES:-}; do set -- "$@" --store "$s"; done; gopythongo-publish ${GOPY_CONFIG:+--config "$GOPY_CONFIG"} ${GOPY_FORCE:+--force} ${GOPY_OVERWRITE:+--overwrite} "$@"'
        }
    }
    return readProperties(file: "${Step.dist(config)}/gopythongo.properties")
}
