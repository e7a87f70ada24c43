import io.gopythongo.Step

// gopythongoPipeline is the whole Git Flow pipeline in one call, for a
// multibranch job: version and test on every build (pull requests too), build,
// package and publish on develop, release/*, hotfix/*, main and tags.
//
//   gopythongoPipeline(
//       agent: 'debian',
//       setup: [version: '1.2.0', sha256: '…'],
//       package: [formats: ['deb', 'oci']],
//       publish: [credentials: [[type: 'usernamePassword', id: 'registry', usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD']]],
//   )
//
// Each of version, test, build, package and publish takes the options of its
// var; publishBranches changes where publishing happens.
def call(Map config = [:]) {
    List publishOn = config.publishBranches ?: ['main', 'master', 'develop', 'release/*', 'hotfix/*']
    boolean pr = env.CHANGE_ID as boolean
    boolean publishing = !pr && (env.TAG_NAME || Step.branchMatchesAny(env.BRANCH_NAME ?: '', publishOn))
    def version
    node(config.agent ?: '') {
        Map scmVars
        stage('Checkout') {
            scmVars = checkout scm
        }
        // A scripted checkout sets no GIT_COMMIT, GIT_BRANCH or GIT_URL in
        // the environment; the version step reads them.
        withEnv(Step.scmEnv(scmVars)) {
            stage('Setup') {
                gopythongoSetup(config.setup ?: [:])
            }
            stage('Version') {
                version = gopythongoVersion((config.version ?: [:]) + [explain: true])
                currentBuild.displayName = "#${env.BUILD_NUMBER} ${version.GOPYTHONGO_SEMVER}"
            }
            stage('Test') {
                gopythongoTest(config.test ?: [:])
            }
            if (!pr) {
                stage('Build') {
                    gopythongoBuildVenv(config.build ?: [:])
                }
                stage('Package') {
                    gopythongoPackage(config.package ?: [:])
                }
            }
        }
    }
    if (publishing) {
        stage('Publish') {
            node(config.agent ?: '') {
                Map scmVars = checkout scm
                withEnv(Step.scmEnv(scmVars)) {
                    gopythongoSetup(unstash: true)
                    gopythongoPublish(config.publish ?: [:])
                }
            }
        }
    }
    return version
}
