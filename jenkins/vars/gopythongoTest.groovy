import io.gopythongo.Step

// gopythongoTest runs the suites of test.suites (gopythongo-test) and records
// their JUnit XML with junit, also when a test fails.
//
//   gopythongoTest()
//   gopythongoTest(suites: ['unit'], settings: ['project.python': '/usr/bin/python3.12'])
def call(Map config = [:]) {
    def c = config.clone()
    if (c.suites instanceof List) {
        c.suites = c.suites.join(' ')
    }
    try {
        withEnv(Step.env(env.WORKSPACE, c, [suites: 'GOPY_SUITES', verbose: 'GOPY_VERBOSE'])) {
            sh label: 'gopythongo-test', script: 'set -f; set --; for s in ${GOPY_SUITES:-}; do set -- "$@" --suite "$s"; done; gopythongo-test ${GOPY_CONFIG:+--config "$GOPY_CONFIG"} ${GOPY_VERBOSE:+--verbose} "$@"'
        }
    } finally {
        junit testResults: "${Step.dist(config)}/test-results/*.xml", allowEmptyResults: true
    }
}
