// Runs the vars of the shared library against a stub of the pipeline steps
// (sh, withEnv, withCredentials, junit, stash, unstash, archiveArtifacts,
// readProperties, node, stage, checkout, dir, error) and prints, per scenario, the
// calls they made as JSON; internal/cigen's tests assert them and run the sh
// scripts with bash. It also compiles the example Jenkinsfile.
//
//   groovy -cp jenkins/src:dist/tools/citools/jpu/groovy-cps-1.12.jar jenkins/test/harness.groovy
import groovy.json.JsonOutput

def calls = []
def envStack = []
def credStack = []
def pipelineEnv = [:]
def binding = new Binding()
def record = { Map m -> calls << m }

binding.setVariable('env', pipelineEnv)
binding.setVariable('scm', 'SCM')
binding.setVariable('currentBuild', [displayName: ''])
binding.setVariable('sh', { Map m ->
    record([step: 'sh', label: m.label, script: m.script, env: envStack.flatten(), credentials: credStack.flatten()])
    if (pipelineEnv.FAIL_SH == m.label) {
        throw new RuntimeException("script returned exit code 1")
    }
    return ''
})
binding.setVariable('withEnv', { List l, Closure c ->
    envStack.push(l.collect { it.toString() })
    try { c() } finally { envStack.pop() }
})
binding.setVariable('withCredentials', { List l, Closure c ->
    record([step: 'withCredentials', bindings: l])
    credStack.push(l)
    try { c() } finally { credStack.pop() }
})
['junit', 'stash', 'archiveArtifacts'].each { String step ->
    binding.setVariable(step, { Map m -> record([step: step] + m) })
}
binding.setVariable('unstash', { String name -> record([step: 'unstash', name: name]) })
binding.setVariable('checkout', { s ->
    record([step: 'checkout'])
    return [GIT_COMMIT: 'c0ffee0000000000000000000000000000000000', GIT_BRANCH: 'origin/' + (pipelineEnv.BRANCH_NAME ?: 'main'), GIT_URL: 'https://git.example.com/hello.git']
})
binding.setVariable('dir', { String path, Closure c -> record([step: 'dir', name: path]); c() })
binding.setVariable('readProperties', { Map m ->
    record([step: 'readProperties', file: m.file])
    return [GOPYTHONGO_SEMVER: '1.3.0-dev.4+gabc']
})
binding.setVariable('error', { String msg -> throw new IllegalStateException(msg) })
binding.setVariable('node', { String label, Closure c -> record([step: 'node', label: label]); c() })
binding.setVariable('stage', { String name, Closure c -> record([step: 'stage', name: name]); c() })

def loader = new GroovyClassLoader(this.class.classLoader)
loader.addClasspath('jenkins/src')
def shell = new GroovyShell(loader, binding)
new File('jenkins/vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name }.each { File f ->
    Script s = shell.parse(f)
    s.binding = binding
    binding.setVariable(f.name - '.groovy', { Map c = [:] -> s.call(c) })
}

def scenarios = [
    version: [env: [BRANCH_NAME: 'feature/x'], run: {
        gopythongoVersion(explain: true, branch: 'feature/x', pr: 12, configFile: 'ci/gopythongo.yaml',
            settings: ['version.fetch': true, 'venv.find_links': ['wheels', 'more wheels']])
    }],
    versionBadKey: [run: { gopythongoVersion(settings: ['venv.find-links; rm -rf /': 'x']) }],
    test: [run: { gopythongoTest(suites: ['unit', 'integration']) }],
    testFails: [env: [FAIL_SH: 'gopythongo-test'], run: { gopythongoTest() }],
    buildVenv: [run: { gopythongoBuildVenv(distOnly: true, noCache: false, settings: ['venv.cache_dir': '/var/cache/gopythongo']) }],
    package: [run: { gopythongoPackage(formats: ['deb', 'oci'], dist: 'out') }],
    publish: [run: {
        gopythongoPublish(stores: ['registry', 'apt'], force: true, overwrite: true, credentials: [
            [type: 'usernamePassword', id: 'registry', usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD'],
            [type: 'file', id: 'apt-key', variable: 'APT_SIGNING_KEY_FILE'],
            [type: 'string', id: 'pypi', variable: 'PYPI_TOKEN'],
        ])
    }],
    publishBadCredential: [run: { gopythongoPublish(credentials: [[type: 'sshUserPrivateKey', id: 'x']]) }],
    setupRelease: [run: { gopythongoSetup(version: 'v1.2.0', sha256: 'ab' * 32) }],
    setupNoSum: [run: { gopythongoSetup(version: '1.2.0') }],
    setupSource: [run: { gopythongoSetup(source: 'v1.2.0') }],
    pipelineDevelop: [env: [BRANCH_NAME: 'develop', BUILD_NUMBER: '7'], run: { gopythongoPipeline(agent: 'debian', package: [formats: ['deb']]) }],
    pipelineFeature: [env: [BRANCH_NAME: 'feature/login', BUILD_NUMBER: '8'], run: { gopythongoPipeline() }],
    pipelinePR: [env: [BRANCH_NAME: 'PR-5', CHANGE_ID: '5', BUILD_NUMBER: '9'], run: { gopythongoPipeline() }],
    pipelineTag: [env: [BRANCH_NAME: 'v1.2.0', TAG_NAME: 'v1.2.0', BUILD_NUMBER: '10'], run: { gopythongoPipeline() }],
]

def results = [:]
scenarios.each { String name, Map sc ->
    calls.clear()
    pipelineEnv.clear()
    pipelineEnv.putAll([WORKSPACE: '/ws'] + (sc.env ?: [:]))
    def result = [:]
    try {
        // An empty script with the stub binding resolves the vars as a
        // pipeline script would.
        Script host = shell.parse('')
        def run = sc.run.rehydrate(host, host, host)
        run.resolveStrategy = Closure.DELEGATE_FIRST
        def value = run()
        result.value = value
    } catch (Throwable e) {
        result.error = e.message
    }
    result.calls = calls.collect { it }
    result.displayName = binding.getVariable('currentBuild').displayName
    results[name] = result
}

// The example Jenkinsfile compiles, with a stub of the @Library annotation.
loader.parseClass('''
import java.lang.annotation.*
@Retention(RetentionPolicy.SOURCE)
@interface Library { String[] value() }
''')
new GroovyShell(loader).parse(new File('jenkins/Jenkinsfile'))
results.jenkinsfileParses = true
// So does the snippet of the README's Jenkins section, and it runs.
def snippet = (new File('README.md').text =~ /(?s)```groovy\n(.*?)```/)[0][1]
calls.clear()
pipelineEnv.clear()
pipelineEnv.putAll([WORKSPACE: '/ws', BRANCH_NAME: 'main', BUILD_NUMBER: '1'])
shell.evaluate(snippet.replace("@Library('gopythongo@v1') _", ''))
results.readmeSnippet = [calls: calls.collect { it }]
// And the Jenkinsfile gopythongo-version --init --ci jenkins writes.
calls.clear()
pipelineEnv.clear()
pipelineEnv.putAll([WORKSPACE: '/ws', BRANCH_NAME: 'main', BUILD_NUMBER: '1'])
shell.evaluate(new File('internal/scaffold/ci/Jenkinsfile').text.replace("@Library('gopythongo@v1') _", ''))
results.initJenkinsfile = [calls: calls.collect { it }]

println JsonOutput.toJson(results)
