// Runs pipelines that load the shared library with @Library under
// JenkinsPipelineUnit (its CPS mode: the library's vars are transformed and
// run the way Pipeline's groovy-cps runs them, so what cannot be serialised
// or intercepted fails here as on Jenkins). The steps Jenkins' plugins give
// (sh, withEnv, withCredentials, checkout, readProperties, stash, …) are
// registered with Pipeline's semantics: withEnv changes env for its block,
// PATH+NAME prepends to PATH. Prints, per scenario, the steps called with the
// environment each sh saw, as JSON; internal/cigen's tests assert them and run
// the scripts with dash.
//
//   groovy -cp 'dist/tools/citools/jpu/*' jenkins/test/pipelineunit.groovy LIBRARIES
//
// LIBRARIES holds gopythongo@v1, the library's root (jenkins/).
import com.lesfurets.jenkins.unit.cps.BasePipelineTestCPS
import groovy.json.JsonOutput

import static com.lesfurets.jenkins.unit.global.lib.LibraryConfiguration.library
import static com.lesfurets.jenkins.unit.global.lib.LocalSource.localSource

class PipelineRun extends BasePipelineTestCPS {
    List calls = []
    Map env = [:]

    void prepare(String libraries, Map buildEnv) {
        setUp()
        helper.registerSharedLibrary(library().name('gopythongo')
            .retriever(localSource(libraries))
            .targetPath(libraries)
            .defaultVersion('v1')
            .allowOverride(false)
            .implicit(false)
            .build())
        env.putAll([WORKSPACE: '/ws', PATH: '/usr/bin:/bin'] + buildEnv)
        binding.setVariable('env', env)
        binding.setVariable('scm', [$class: 'GitSCM'])
        binding.setVariable('currentBuild', [displayName: '', result: null])
        helper.registerAllowedMethod('sh', [Map], { Map m ->
            calls << [step: 'sh', label: m.label, script: m.script, env: env.collect { k, v -> "${k}=${v}".toString() }.sort()]
            if (env.FAIL_SH == m.label) {
                throw new RuntimeException('script returned exit code 1')
            }
            return ''
        })
        helper.registerAllowedMethod('withEnv', [List, Closure], { List entries, Closure body ->
            Map saved = new HashMap(env)
            entries.each { String e ->
                def (k, v) = e.split('=', 2) as List
                int plus = k.indexOf('+')
                if (plus > 0) {
                    String name = k.substring(0, plus)
                    env[name] = env[name] ? "${v}:${env[name]}".toString() : v
                } else {
                    env[k] = v
                }
            }
            try {
                helper.callClosure(body)
            } finally {
                env.clear()
                env.putAll(saved)
            }
        })
        helper.registerAllowedMethod('withCredentials', [List, Closure], { List bindings, Closure body ->
            calls << [step: 'withCredentials', bindings: bindings]
            Map saved = new HashMap(env)
            bindings.each { Map b ->
                ['usernameVariable', 'passwordVariable', 'variable'].each { if (b[it]) env[b[it]] = '****' }
            }
            try {
                helper.callClosure(body)
            } finally {
                env.clear()
                env.putAll(saved)
            }
        })
        helper.registerAllowedMethod('checkout', [Map], { Map scm ->
            calls << [step: 'checkout']
            return [GIT_COMMIT: 'c0ffee0000000000000000000000000000000000', GIT_BRANCH: 'origin/' + (env.BRANCH_NAME ?: 'main'), GIT_URL: 'https://git.example.com/hello.git']
        })
        helper.registerAllowedMethod('readProperties', [Map], { Map m ->
            calls << [step: 'readProperties', file: m.file]
            return [GOPYTHONGO_SEMVER: '1.3.0-dev.4+gabc']
        })
        ['junit', 'stash', 'archiveArtifacts'].each { String step ->
            helper.registerAllowedMethod(step, [Map], { Map m -> calls << ([step: step] + m) })
        }
        helper.registerAllowedMethod('unstash', [String], { String name -> calls << [step: 'unstash', name: name] })
        helper.registerAllowedMethod('dir', [String, Closure], { String path, Closure body -> calls << [step: 'dir', name: path]; helper.callClosure(body) })
        helper.registerAllowedMethod('node', [String, Closure], { String label, Closure body -> calls << [step: 'node', label: label]; helper.callClosure(body) })
        helper.registerAllowedMethod('stage', [String, Closure], { String name, Closure body -> calls << [step: 'stage', name: name]; helper.callClosure(body) })
        helper.registerAllowedMethod('error', [String], { String msg -> throw new IllegalStateException(msg) })
    }
}

String libraries = args[0]
File scripts = File.createTempDir()
def scenarios = [
    pipelineDevelop: [env: [BRANCH_NAME: 'develop', BUILD_NUMBER: '7'], script: "gopythongoPipeline(agent: 'debian', setup: [version: '1.2.0', sha256: '${'ab' * 32}'], package: [formats: ['deb']])"],
    pipelineFeature: [env: [BRANCH_NAME: 'feature/login', BUILD_NUMBER: '8'], script: 'gopythongoPipeline()'],
    pipelinePR: [env: [BRANCH_NAME: 'PR-5', CHANGE_ID: '5', BUILD_NUMBER: '9'], script: 'gopythongoPipeline()'],
    pipelineTag: [env: [BRANCH_NAME: 'v1.2.0', TAG_NAME: 'v1.2.0', BUILD_NUMBER: '10'], script: '''
        gopythongoPipeline(publish: [stores: ['registry'], credentials: [[type: 'usernamePassword', id: 'registry', usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD']]])
    '''],
    insideDir: [env: [BRANCH_NAME: 'develop'], script: '''
        node('') {
            dir('service') {
                gopythongoSetup(source: 'v1.2.0')
                gopythongoVersion(explain: true)
            }
        }
    '''],
    publishCredentials: [env: [BRANCH_NAME: 'main'], script: '''
        node('') {
            gopythongoPublish(stores: ['registry', 'apt'], credentials: [
                [type: 'usernamePassword', id: 'registry', usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD'],
                [type: 'file', id: 'apt-key', variable: 'APT_SIGNING_KEY_FILE'],
                [type: 'string', id: 'pypi', variable: 'PYPI_TOKEN'],
            ])
        }
    '''],
    publishBadCredential: [env: [BRANCH_NAME: 'main'], script: "node('') { gopythongoPublish(credentials: [[type: 'sshUserPrivateKey', id: 'x']]) }"],
    testFails: [env: [BRANCH_NAME: 'develop', FAIL_SH: 'gopythongo-test'], script: 'node("") { gopythongoTest() }'],
]
def results = [:]
scenarios.each { String name, Map sc ->
    def run = new PipelineRun()
    run.prepare(libraries, sc.env)
    File f = new File(scripts, "${name}.jenkinsfile")
    f.text = "@Library('gopythongo@v1') _\n" + sc.script + '\n'
    def result = [:]
    try {
        run.runScript(f.path)
    } catch (Throwable e) {
        result.error = e.toString()
    }
    result.calls = run.calls
    result.displayName = run.binding.getVariable('currentBuild').displayName.toString()
    results[name] = result
}
scripts.deleteDir()
// The last line: JenkinsPipelineUnit prints what it loads before it.
println JsonOutput.toJson(results)
