// Package benchutil holds what the benchmark programs share: timing,
// failing fast, and building the examples' wheels.
package benchutil

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DebianPython is the interpreter the benchmarks build with.
const DebianPython = "/usr/bin/python3"

// Median runs f runs times and returns the median duration.
func Median(runs int, f func()) time.Duration {
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		f()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// Runs are the durations of one case, one per round of Alternate.
type Runs []time.Duration

// Median is the middle run.
func (r Runs) Median() time.Duration {
	s := slices.Clone(r)
	slices.Sort(s)
	return s[len(s)/2]
}

// Ratio is the median of the per-round ratios r/peer, with the smallest and
// largest, as "0.52x (0.48-0.57)": rounds alternate, so a round's ratio
// compares runs made under the same load.
func (r Runs) Ratio(peer Runs) string {
	q := make([]float64, len(r))
	for i := range r {
		q[i] = float64(r[i]) / float64(peer[i])
	}
	slices.Sort(q)
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", q[len(q)/2], q[0], q[len(q)-1])
}

// Case is what a benchmark times, Run, after what sets its stage, Prepare
// (emptying a cache, removing the last run's output), which is not timed:
// each tool is timed doing its job, not cleaning up after the last round.
type Case struct {
	Prepare func() // may be nil
	Run     func()
}

// Alternate runs every case once per round, rounds times, so that a change
// in the machine's load falls on all cases alike.
func Alternate(rounds int, cases ...Case) []Runs {
	runs := make([]Runs, len(cases))
	for range rounds {
		for i, c := range cases {
			if c.Prepare != nil {
				c.Prepare()
			}
			start := time.Now()
			c.Run()
			runs[i] = append(runs[i], time.Since(start))
		}
	}
	return runs
}

// Load is the machine's load average over the last minute, for the record.
func Load() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

// Must stops the benchmark on an error.
func Must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// CleanEnv is the environment without this machine's PIP_* settings.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIP_") {
			env = append(env, kv)
		}
	}
	return append(env, "PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1")
}

// PipWheel builds the wheel of a project into out, from a copy in work.
func PipWheel(project, out, work string) {
	src := filepath.Join(work, "src-"+filepath.Base(project))
	Must(exec.Command("cp", "-a", project, src).Run())
	cmd := exec.Command(DebianPython, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, src)
	cmd.Env = CleanEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("pip wheel %s: %v\n%s", project, err, b)
	}
}

// CorpusPackages are the direct dependencies of tools/corpus/apps (the
// Django site, the FastAPI service, the data job) and some widely used pure
// libraries: about 90 distributions with their closure, all wheels of the
// corpus that make deps fetches (dist/fixtures/pypi/files).
var CorpusPackages = []string{
	"numpy>=1.26", "pandas>=2.1", "lxml>=5", "openpyxl", "requests", "boto3", "click", "pyyaml",
	"sqlalchemy[asyncio]", "psycopg2-binary", "tqdm", "scipy", "fastapi", "uvicorn[standard]", "pydantic",
	"asyncpg", "httpx", "orjson", "pyjwt[crypto]", "grpcio", "structlog", "django<6", "gunicorn",
	"celery[redis]", "whitenoise", "djangorestframework", "pillow", "django-environ",
	"jinja2", "attrs", "pytest", "protobuf", "google-auth", "rich",
}
