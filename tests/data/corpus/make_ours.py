"""Make the corpus's two reports of our own by running the real tools on this machine, offline.

Two files of the shared corpus come from repositories that carry no licence, so the corpus here holds
reports of the same shape that we make ourselves instead (PROVENANCE.md, section "Ours"):

- `security/sarif/bandit/bandit-1.9.4-ledger.sarif`: bandit 1.9.4 `-f sarif` (it needs `bandit[sarif]`)
  over examples/sample/src, run from examples/sample as examples/make_reports.py runs it, so paths are
  relative (`src/ledger/legacy.py`);
- `coverage/jacoco/jacoco-0.8.6/jacoco.xml`: Debian's libjacoco-java 0.8.6
  (`apt-get install --no-install-recommends libjacoco-java`) with the JDK's javac and java: a small Java
  program written below is compiled here (no Maven, whose registry is out of reach), run under the JaCoCo
  agent, and JaCoCo's own XML formatter writes the report.  Debian ships no JaCoCo CLI jar, so the few
  lines of the report API its `report` command runs are compiled here too (REPORT_JAVA).

    .venv/bin/python tests/data/corpus/make_ours.py

The tools must be at exactly those versions: the file names, PROVENANCE.md and the hand-counted
expectations (tests/conformance/expected/) name them.  Every byte is the same on each run except the
times the tools write (bandit's endTimeUtc, JaCoCo's sessioninfo start and dump).  The script prints each
file's sha256: put it in PROVENANCE.md, or tests/conformance/test_provenance.py fails, as it should.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SAMPLE = REPO / "examples" / "sample"

BANDIT_VERSION = "1.9.4"
BANDIT_SARIF = HERE / "security" / "sarif" / "bandit" / f"bandit-{BANDIT_VERSION}-ledger.sarif"

JACOCO_VERSION = "0.8.6"
JACOCO_XML = HERE / "coverage" / "jacoco" / f"jacoco-{JACOCO_VERSION}" / "jacoco.xml"
JAVA = Path("/usr/share/java")
#: The agent jar holds the runnable agent (with its own ASM) as a resource, as upstream's does.
AGENT_HOLDER = JAVA / "org.jacoco.agent.jar"
#: The report API and the ASM it analyses class files with (libasm-java, a dependency of libjacoco-java).
REPORT_CLASSPATH = [
    JAVA / f"{name}.jar" for name in ("org.jacoco.core", "org.jacoco.report", "asm", "asm-commons", "asm-tree")
]
#: Class files for Java 11, which JaCoCo 0.8.6 reads whatever JDK compiles them.
JAVA_RELEASE = "11"

#: The program JaCoCo measures: a default package (as a Maven quick-start has) and a named one.  main
#: takes one side of `express` only, never builds a Shipping, never loads parcel.Label: missed lines, a
#: partly covered branch line, a fully covered one, and a class never loaded.
SOURCES = {
    "Shipping.java": """\
public class Shipping {
    static int cost(int grams, boolean express) {
        int cost = grams <= 500 ? 4 : 7;
        if (express) {
            cost += 10;
        }
        return cost;
    }

    public static void main(String[] args) {
        System.out.println(cost(200, false) + cost(900, false));
    }
}
""",
    "parcel/Label.java": """\
package parcel;

public class Label {
    static String text(int grams) {
        return "parcel of " + grams + " g";
    }
}
""",
}

#: What `java -jar jacococli.jar report EXEC --classfiles DIR --name NAME --xml OUT` does, in JaCoCo's API.
REPORT_JAVA = """\
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.jacoco.core.analysis.Analyzer;
import org.jacoco.core.analysis.CoverageBuilder;
import org.jacoco.core.tools.ExecFileLoader;
import org.jacoco.report.IReportVisitor;
import org.jacoco.report.xml.XMLFormatter;

public class XmlReport {
    public static void main(String[] args) throws IOException {
        ExecFileLoader loader = new ExecFileLoader();
        loader.load(new File(args[0]));
        CoverageBuilder builder = new CoverageBuilder();
        new Analyzer(loader.getExecutionDataStore(), builder).analyzeAll(new File(args[1]));
        try (OutputStream out = new FileOutputStream(args[2])) {
            IReportVisitor visitor = new XMLFormatter().createVisitor(out);
            visitor.visitInfo(loader.getSessionInfoStore().getInfos(), loader.getExecutionDataStore().getContents());
            visitor.visitBundle(builder.getBundle(args[3]), null);
            visitor.visitEnd();
        }
    }
}
"""


def main() -> int:
    make_bandit_sarif()
    make_jacoco_xml()
    for path in (BANDIT_SARIF, JACOCO_XML):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(HERE).as_posix()}  {path.stat().st_size:,} B  sha256 {digest}")
    print("now: these sha256 in PROVENANCE.md; if more than the times changed, recount the expected files")
    return 0


def make_bandit_sarif() -> None:
    """bandit over the sample's sources, from the sample, so the report's paths are relative."""
    missing = [name for name in ("bandit", "sarif_om", "jschema_to_python") if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"error: {', '.join(missing)} missing in {sys.executable}: pip install 'bandit[sarif]'")
    require(
        "bandit", importlib.metadata.version("bandit"), BANDIT_VERSION, f"pip install 'bandit[sarif]=={BANDIT_VERSION}'"
    )
    BANDIT_SARIF.parent.mkdir(parents=True, exist_ok=True)
    output = os.path.relpath(BANDIT_SARIF, SAMPLE)
    run([sys.executable, "-m", "bandit", "-r", "src", "-f", "sarif", "-o", output, "-q", "--exit-zero"], cwd=SAMPLE)


def make_jacoco_xml() -> None:
    """Compile SOURCES, run Shipping under the JaCoCo agent, write the XML report with JaCoCo's formatter."""
    for jar in (AGENT_HOLDER, *REPORT_CLASSPATH):
        if not jar.is_file():
            raise SystemExit(f"error: {jar} not found: apt-get install --no-install-recommends libjacoco-java")
    for program in ("javac", "java"):
        if shutil.which(program) is None:
            raise SystemExit(f"error: {program} not found: a JDK (11 or later) is needed")
    with tempfile.TemporaryDirectory(prefix="jacoco-") as scratch:
        work = Path(scratch)
        with zipfile.ZipFile(AGENT_HOLDER) as holder:
            agent = Path(holder.extract("jacocoagent.jar", work))
        with zipfile.ZipFile(agent) as agent_jar:
            manifest = agent_jar.read("META-INF/MANIFEST.MF").decode("utf-8")
        version = next(
            (
                line.split(":", 1)[1].strip()
                for line in manifest.splitlines()
                if line.startswith("Implementation-Version:")
            ),
            "unknown",
        )
        require("JaCoCo", version, JACOCO_VERSION, f"Debian bookworm's libjacoco-java {JACOCO_VERSION}")
        sources = work / "src"
        for relative, text in SOURCES.items():
            (sources / relative).parent.mkdir(parents=True, exist_ok=True)
            (sources / relative).write_text(text, encoding="utf-8")
        (work / "XmlReport.java").write_text(REPORT_JAVA, encoding="utf-8")
        classpath = os.pathsep.join(str(jar) for jar in REPORT_CLASSPATH)
        run(["javac", "--release", JAVA_RELEASE, "-d", "classes", *(f"src/{name}" for name in SOURCES)], cwd=work)
        run(["javac", "--release", JAVA_RELEASE, "-cp", classpath, "-d", "report", "XmlReport.java"], cwd=work)
        # A fixed session id: the agent's default is the host name plus a random number.
        run(
            [
                "java",
                f"-javaagent:{agent}=destfile=jacoco.exec,sessionid=gatekeeper-corpus",
                "-cp",
                "classes",
                "Shipping",
            ],
            cwd=work,
        )
        JACOCO_XML.parent.mkdir(parents=True, exist_ok=True)
        report_classpath = os.pathsep.join([classpath, "report"])
        run(
            ["java", "-cp", report_classpath, "XmlReport", "jacoco.exec", "classes", str(JACOCO_XML), "shipping"],
            cwd=work,
        )


def require(tool: str, found: str, wanted: str, how: str) -> None:
    if found != wanted:
        raise SystemExit(f"error: {tool} {found} found, the corpus names {tool} {wanted}: {how}")


def run(command: Sequence[str], *, cwd: Path) -> None:
    """Run one tool, saying what runs; stop on a broken run."""
    print("$ " + " ".join(Path(part).name if part == sys.executable else part for part in command), flush=True)
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(command, cwd=cwd, env=environment, check=False)
    if result.returncode != 0:
        raise SystemExit(f"error: exit code {result.returncode} from {Path(command[0]).name}")


if __name__ == "__main__":
    sys.exit(main())
