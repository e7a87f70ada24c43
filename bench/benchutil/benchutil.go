// Package benchutil holds what the benchmark programs share: timing,
// failing fast, and building the examples' wheels.
package benchutil

import (
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
