/*
 * gatekeeper: a Jenkins shared-library step that runs the quality gate after your tests.
 *
 * Put this directory (vars/ and resources/) in a Git repository and register it under
 * Manage Jenkins > System > Global Pipeline Libraries with the name `gatekeeper`. Then, in a Jenkinsfile:
 *
 *   @Library('gatekeeper') _
 *   ...
 *   stage('Quality gate') {
 *       steps { gatekeeper(policy: 'gatekeeper.yaml', reports: ['build/test-results/', 'coverage.xml']) }
 *   }
 *
 * What it does: installs gatekeeper with pip into a virtual environment (.gatekeeper-venv), runs
 * `gatekeeper check` through resources/gatekeeper/gatekeeper-step.sh, records the gates with the junit
 * step (each gate is a test case), archives verdict.json and the markdown summary, uploads the verdict to
 * a store server when `url` is given (token from a Jenkins "secret text" credential), and sets the build
 * result from the exit code:
 *   0 pass -> SUCCESS; 10 warn (--warn-exit-code 10) -> UNSTABLE; 1 a blocking gate failed -> FAILURE;
 *   2 could not decide (bad report or policy) -> FAILURE; 4 upload failed (requireUpload) -> UNSTABLE;
 *   anything else (3 internal error, 130 interrupted) -> FAILURE.
 *
 * Options (all optional):
 *   policy             policy file                       default 'gatekeeper.yaml'
 *   reports            list of report paths/globs        default [] (the policy's `reports:`)
 *   pip                what to pip-install               default 'gatekeeper'
 *   python             python used to create the venv    default 'python3'
 *   url                store server to upload to         default '' (no upload)
 *   tokenCredentialsId secret-text credential id         default 'gatekeeper-token'
 *   requireUpload      a failed upload is UNSTABLE       default false
 *   outDir             where outputs are written         default 'gatekeeper-out'
 *   failBuild          false: mark FAILURE but go on     default true (a failed gate stops the pipeline)
 *   part               record the reports as this part   default '' (decide); e.g. 'test 2/3' in a
 *                      of the build instead of deciding              parallel stage (outDir then per part)
 *   pipelineFinal      decide once on every part          default false
 *   expectParts        parts the final stage waits for    default '' (what names 'NAME i/N' call for)
 *   wait               seconds it waits for them          default 300
 * Parallel stages (see Jenkinsfile.parallel): each stage records its reports with `part`, a last stage
 * decides with `pipelineFinal: true`. The parts meet in the store server (`url`), or, where every stage
 * shares one workspace, in the embedded store.
 * Returns the result it applied: 'SUCCESS', 'UNSTABLE' or 'FAILURE'.
 */

def call(Map config = [:]) {
    String part = config.part ? config.part.toString() : ''
    // Parallel stages share the workspace: each part writes its result to a directory of its own.
    String partDir = "gatekeeper-out/part-${part.replaceAll(/[^A-Za-z0-9._-]/, '_')}"
    String outDir = config.outDir ?: (part ? partDir : 'gatekeeper-out')
    String venv = '.gatekeeper-venv'
    List<String> reports = (config.reports ?: [])*.toString()

    writeFile(file: "${outDir}/gatekeeper-step.sh", text: libraryResource('gatekeeper/gatekeeper-step.sh'))
    List<String> environment = [
        "GATEKEEPER_PIP=${config.pip ?: 'gatekeeper'}",
        "GATEKEEPER_VENV_PYTHON=${config.python ?: 'python3'}",
        "GATEKEEPER_POLICY=${config.policy ?: 'gatekeeper.yaml'}",
        "GATEKEEPER_OUT=${outDir}",
        "GATEKEEPER=${venv}/bin/gatekeeper",
        "GATEKEEPER_PYTHON=${venv}/bin/python",
        "GATEKEEPER_REQUIRE_UPLOAD=${config.requireUpload ? 'true' : 'false'}",
        "GATEKEEPER_PIPELINE_STARTED_AT=${currentBuild.startTimeInMillis}",
    ]
    if (config.url) {
        environment << "GATEKEEPER_URL=${config.url}"
    }
    if (part) {
        environment << "GATEKEEPER_PART=${part}"
    }
    if (config.pipelineFinal) {
        environment << 'GATEKEEPER_PIPELINE_FINAL=true'
        environment << "GATEKEEPER_WAIT=${config.wait ?: 300}"
        if (config.expectParts) {
            environment << "GATEKEEPER_EXPECT_PARTS=${config.expectParts}"
        }
    }
    // Report paths go to the shell as single-quoted words; a single quote inside a path is escaped.
    String quote = "'"
    String arguments = reports.collect { report -> quote + report.replace(quote, "'\\''") + quote }.join(' ')
    String script = """
        set -e
        if [ ! -x ${venv}/bin/gatekeeper ]; then
            "\$GATEKEEPER_VENV_PYTHON" -m venv ${venv}
            ${venv}/bin/pip install --quiet "\$GATEKEEPER_PIP"
        fi
        bash "${outDir}/gatekeeper-step.sh" ${arguments}
    """
    Closure run = { -> sh(script: script, label: 'gatekeeper check') }
    withEnv(environment) {
        if (config.url) {
            withCredentials([string(credentialsId: config.tokenCredentialsId ?: 'gatekeeper-token',
                                    variable: 'GATEKEEPER_TOKEN')]) {
                run()
            }
        } else {
            run()
        }
    }

    // The gate decides the build result below, not the count of failed test cases.
    junit(testResults: "${outDir}/gate-junit.xml", allowEmptyResults: true, skipMarkingBuildUnstable: true)
    archiveArtifacts(artifacts: "${outDir}/verdict.json,${outDir}/gate.md", allowEmptyArchive: true)

    List<String> lines = readFile("${outDir}/result").trim().readLines()
    String result = lines[0]
    String message = lines.size() > 1 ? lines[1] : ''
    if (result == 'SUCCESS') {
        echo(message)
    } else if (result == 'UNSTABLE') {
        unstable(message)
    } else if (config.failBuild == false) {
        currentBuild.result = 'FAILURE'
        echo(message)
    } else {
        error(message)
    }
    return result
}
