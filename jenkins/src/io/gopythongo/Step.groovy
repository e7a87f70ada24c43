package io.gopythongo

import com.cloudbees.groovy.cps.NonCPS

// Step holds what every var of the library shares: the environment a step runs
// with. Values travel to the binaries only as environment variables, and the sh
// scripts are fixed single-quoted strings, so that Groovy never interpolates a
// value (or a secret) into a shell command. Its methods call no step and are
// @NonCPS: groovy-cps before workflow-cps 2.33 runs a closure given to each
// only for the first element, which dropped all but one GIT_ variable
// (found under JenkinsPipelineUnit's CPS mode).
class Step implements Serializable {
    // The directory the binaries are installed to, relative to the workspace.
    static final String BIN = '.gopythongo/bin'

    // env lists the withEnv entries of a step: PATH with the binaries, the
    // configuration file, every `settings` entry as its GOPYTHONGO_ variable
    // ('venv.cache_dir': '/cache' -> GOPYTHONGO_VENV_CACHE_DIR=/cache), and the
    // step's own options as GOPY_ variables that its sh script reads.
    @NonCPS
    static List<String> env(String workspace, Map config, Map<String, String> options) {
        List<String> out = ["PATH+GOPYTHONGO=${workspace}/${BIN}".toString()]
        if (config.configFile) {
            out << "GOPY_CONFIG=${config.configFile}".toString()
        }
        if (config.dist) {
            out << "GOPYTHONGO_PROJECT_DIST=${config.dist}".toString()
        }
        Map settings = (Map) (config.settings ?: [:])
        settings.keySet().sort().each { String key ->
            out << "${variable(key)}=${value(settings[key])}".toString()
        }
        options.each { String option, String variable ->
            def v = config[option]
            if (v != null && v != false && v != '') {
                out << "${variable}=${value(v)}".toString()
            }
        }
        return out
    }

    // scmEnv lists the GIT_ variables of checkout's result (GIT_COMMIT,
    // GIT_BRANCH, GIT_URL, …) as withEnv entries.
    @NonCPS
    static List<String> scmEnv(Map scmVars) {
        List<String> out = []
        (scmVars ?: [:]).keySet().sort().each { k ->
            if (k.toString().startsWith('GIT_') && scmVars[k] != null) {
                out << "${k}=${scmVars[k]}".toString()
            }
        }
        return out
    }

    // variable is the GOPYTHONGO_ variable of a configuration key.
    @NonCPS
    static String variable(String key) {
        if (!(key ==~ /[a-z_]+(\.[a-z_]+)*/)) {
            throw new IllegalArgumentException("gopythongo: ${key} is not a configuration key such as venv.cache_dir")
        }
        return 'GOPYTHONGO_' + key.toUpperCase().replace('.', '_')
    }

    // value renders a setting: lists as YAML flow lists, the rest as text.
    @NonCPS
    static String value(def v) {
        if (v instanceof List) {
            return '[' + v.collect { '"' + it.toString().replace('\\', '\\\\').replace('"', '\\"') + '"' }.join(', ') + ']'
        }
        return v.toString()
    }

    // dist is the dist directory of a step.
    @NonCPS
    static String dist(Map config) {
        return config.dist ?: 'dist'
    }

    // branchMatches matches a branch against a pattern with one trailing *.
    @NonCPS
    static boolean branchMatches(String branch, String pattern) {
        return pattern.endsWith('*') ? branch.startsWith(pattern[0..-2]) : branch == pattern
    }

    // branchMatchesAny matches a branch against a list of such patterns.
    @NonCPS
    static boolean branchMatchesAny(String branch, List patterns) {
        return patterns.any { String p -> branchMatches(branch, p) }
    }

    // credentialBindings turns the credentials of gopythongoPublish into the
    // Credentials Binding plugin's bindings, as $class maps: plain data that
    // a @NonCPS method can build, where the usernamePassword() symbols are
    // steps that only CPS code may call.
    @NonCPS
    static List<Map> credentialBindings(List credentials) {
        return credentials.collect { Map cred ->
            if (cred.type == 'usernamePassword') {
                return [$class: 'UsernamePasswordMultiBinding', credentialsId: cred.id, usernameVariable: cred.usernameVariable, passwordVariable: cred.passwordVariable]
            }
            if (cred.type == 'file') {
                return [$class: 'FileBinding', credentialsId: cred.id, variable: cred.variable]
            }
            if (cred.type == 'string') {
                return [$class: 'StringBinding', credentialsId: cred.id, variable: cred.variable]
            }
            throw new IllegalArgumentException("gopythongoPublish: credential type ${cred.type} of ${cred.id}: use usernamePassword, file or string")
        }
    }
}
