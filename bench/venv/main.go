// Command venv benchmarks gopythongo-build-venv against
// `python3 -m venv D && D/bin/pip install --no-index --find-links W …` on the same
// wheelhouse: examples/hello and hello-lib plus generated wheels of realistic
// size, or (-corpus) the real distributions of the corpus (make deps), resolved
// from the three applications of tools/corpus/apps. It prints the ratio (ours /
// peer) for cold caches (with bytecode and without), an app-only change (with
// dist/root as the last build left it, and without, as in CI), a dependency
// change (one package less) and warm caches, against pip and against uv
// (uv venv + uv pip install, with uv's own cache cold and warm; uv compiles no
// bytecode unless told, so it runs both ways). What a case starts without
// (the caches, the last venv) is moved aside untimed and removed at the end:
// the corpus needs about 7 GB a round.
//
//	go run ./bench/venv -wheels 40
//	go run ./bench/venv -corpus dist/fixtures/pypi/files
package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/bench/benchutil"
	"github.com/gopythongo/gopythongo/internal/state"
)

func main() {
	n := flag.Int("wheels", 40, "generated wheels besides the examples")
	corpus := flag.String("corpus", "", "a directory of real wheels (dist/fixtures/pypi/files) to resolve the corpus applications from, instead of generated wheels")
	runs := flag.Int("runs", 3, "runs of each command; the median counts")
	bin := flag.String("bin", "bin/gopythongo-build-venv", "the gopythongo-build-venv binary")
	uv := flag.String("uv", "dist/tools/pytools/bin/uv", "uv, the second peer (\"\" leaves it out)")
	flag.Parse()
	ours, err := filepath.Abs(*bin)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(ours); err != nil {
		log.Fatalf("%v: build it first (make build)", err)
	}
	root, _ := filepath.Abs(".")
	work, err := os.MkdirTemp("", "gpg-bench-venv-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	wheels := filepath.Join(work, "wheels")
	var names []string
	if *corpus != "" {
		// The corpus is linked, not copied: the wheelhouse is the corpus
		// plus the examples.
		benchutil.Must(os.MkdirAll(wheels, 0o755))
		files, _ := filepath.Glob(filepath.Join(*corpus, "*.whl"))
		if len(files) < 80 {
			log.Fatalf("%s holds %d wheels: run make deps (scripts/fetch-corpus) first", *corpus, len(files))
		}
		for _, f := range files {
			benchutil.Must(os.Link(f, filepath.Join(wheels, filepath.Base(f))))
		}
		names = benchutil.CorpusPackages
		log.Printf("wheelhouse: %d wheels of the corpus and the examples", len(files))
	} else {
		var size int64
		names, size, err = Generate(wheels, *n, 7)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("wheelhouse: %d generated wheels (%.1f MiB unpacked) and the examples", *n, float64(size)/(1<<20))
	}
	project := filepath.Join(work, "hello")
	benchutil.Must(exec.Command("cp", "-a", filepath.Join(root, "examples", "hello"), project).Run())
	for _, p := range []string{"hello-lib", "hello"} {
		benchutil.PipWheel(filepath.Join(root, "examples", p), wheels, work)
	}
	// writeConfig writes the project's configuration with every package
	// but drop, and the venv settings of extra.
	writeConfig := func(drop, extra string) {
		var quoted []string
		for _, n := range names {
			if n != drop {
				quoted = append(quoted, strconv.Quote(n))
			}
		}
		benchutil.Must(os.WriteFile(filepath.Join(project, ".gopythongo.yaml"), []byte(fmt.Sprintf(`schema: 1
project: {name: hello, deploy_path: /opt/gopythongo-bench, python: %s}
venv:
  find_links: [%s]
  no_index: true
  build_isolation: false
  packages: [%s]
%s`, benchutil.DebianPython, wheels, strings.Join(quoted, ", "), extra)), 0o644))
	}
	writeConfig("", "")
	// A dependency change leaves out one of four packages that nothing else
	// needs, in turn: more than the tree cache keeps, so each is a new tree
	// (the wheels and the bytecode from the caches).
	leaves := names[:4]
	if *corpus != "" {
		leaves = []string{"tqdm", "structlog", "whitenoise", "django-environ"}
	}
	depChanges := 0
	st := &state.State{Commit: state.Commit{SHA: "bench", Provider: "local", Time: 1700000000}}
	benchutil.Must(st.Save(filepath.Join(project, "dist")))

	cache := filepath.Join(work, "cache")
	// discard moves what a case starts without into a trash directory,
	// removed at the end: removing it between the runs would time the
	// file system's aftermath of the removal instead of the tools (ext4
	// without a journal, as on these machines, scans past every inode freed
	// in the last five minutes for each file it creates).
	trash, discarded := filepath.Join(work, "trash"), 0
	benchutil.Must(os.MkdirAll(trash, 0o755))
	discard := func(p string) {
		discarded++
		if err := os.Rename(p, filepath.Join(trash, strconv.Itoa(discarded))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Fatal(err)
		}
	}
	lastLog := map[string][]byte{}
	// kind: "cold" empties the caches and starts from a clean checkout (no
	// dist/root: CI's first run), "commit" is an app-only change (a new
	// commit time, so a new project wheel and tree), "commit-ci" one without
	// dist/root (a clean checkout), "deps" a dependency change, "warm"
	// changes nothing. Emptying and removing is Prepare's, not timed, as the
	// peers' discarding of their last venv and cache is not.
	run := func(kind string) benchutil.Case {
		prepare := func() {
			switch kind {
			case "cold", "cold-nocompile":
				discard(cache)
				discard(filepath.Join(project, "dist", "root"))
				if kind == "cold-nocompile" {
					writeConfig("", "  compile: false\n")
				}
			case "commit", "commit-ci":
				// A minute on: zip keeps times to two seconds, so a
				// second on could make the same wheel (a warm build).
				st.Commit.Time += 60
				benchutil.Must(st.Save(filepath.Join(project, "dist")))
				if kind == "commit-ci" {
					// CI starts from a clean checkout, no dist/root, and
					// a cache restored from an archive: every file a new
					// inode, so that no stamp the last build recorded holds.
					discard(filepath.Join(project, "dist", "root"))
					changeEveryInode(cache, wheels)
					// A build records no stamp of a file changed in the
					// last second (it could change again within the
					// clock's tick unseen); a restore is seconds before
					// the build, not the moment before.
					time.Sleep(1100 * time.Millisecond)
				}
			case "deps":
				writeConfig(leaves[depChanges%len(leaves)], "")
				depChanges++
			}
		}
		return benchutil.Case{Prepare: prepare, Run: func() {
			if kind == "deps" || kind == "cold-nocompile" {
				defer writeConfig("", "")
			}
			cmd := exec.Command(ours, "--cache-dir", cache)
			cmd.Dir = project
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				log.Fatalf("gopythongo-build-venv: %v\n%s", err, stderr.Bytes())
			}
			lastLog[kind] = stderr.Bytes()
		}}
	}
	peerDir := filepath.Join(work, "peer")
	runAll := func(env []string, argvs ...[]string) {
		for _, argv := range argvs {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				log.Fatalf("%v: %v\n%s", argv, err, out)
			}
		}
	}
	pip := benchutil.Case{Prepare: func() { discard(peerDir) }, Run: func() {
		runAll(benchutil.CleanEnv(), []string{benchutil.DebianPython, "-m", "venv", peerDir},
			append([]string{filepath.Join(peerDir, "bin", "pip"), "install", "-q", "--no-index", "--find-links", wheels, "hello"}, names...))
	}}
	uvCache := filepath.Join(work, "uv-cache")
	uvRun := func(cold, compile bool) benchutil.Case {
		prepare := func() {
			if cold {
				discard(uvCache)
			}
			discard(peerDir)
		}
		return benchutil.Case{Prepare: prepare, Run: func() {
			install := []string{*uv, "pip", "install", "-q", "--python", filepath.Join(peerDir, "bin", "python"), "--no-index", "--find-links", wheels}
			if compile {
				install = append(install, "--compile-bytecode")
			}
			env := append(benchutil.CleanEnv(), "UV_CACHE_DIR="+uvCache, "UV_NO_CONFIG=1")
			runAll(env, []string{*uv, "venv", "-q", "--python", benchutil.DebianPython, peerDir}, append(append(install, "hello"), names...))
		}}
	}
	// Rounds alternate every case, so that load changes fall on all alike;
	// each warm case comes after a cold one, which filled its cache.
	type row struct {
		name string
		c    benchutil.Case
	}
	rows := []row{{"python3 -m venv + pip install", pip}}
	if *uv != "" {
		rows = append(rows,
			row{"uv venv + uv pip install, cold uv cache", uvRun(true, false)},
			row{"uv ..., cold uv cache, --compile-bytecode", uvRun(true, true)},
			row{"uv ..., warm uv cache", uvRun(false, false)},
			row{"uv ..., warm uv cache, --compile-bytecode", uvRun(false, true)})
	}
	peers := len(rows)
	// Without bytecode first, to hold against uv's default (none): the
	// cold run after it starts from empty caches again.
	rows = append(rows, row{"gopythongo-build-venv, cold caches, compile: false", run("cold-nocompile")},
		row{"gopythongo-build-venv, cold caches", run("cold")},
		row{"gopythongo-build-venv, app-only change", run("commit")}, row{"gopythongo-build-venv, app-only change, no dist/root", run("commit-ci")},
		row{"gopythongo-build-venv, warm caches", run("warm")}, row{"gopythongo-build-venv, dependency change", run("deps")})
	var cases []benchutil.Case
	for _, r := range rows {
		cases = append(cases, r.c)
	}
	res := benchutil.Alternate(*runs, cases...)
	fmt.Printf("load %s, %d rounds; ratio: median of the rounds' ratios (smallest-largest)\n%-48s %9s\n", benchutil.Load(), *runs, "case", "median")
	for i, r := range rows[:peers] {
		fmt.Printf("%-48s %9s\n", "peer: "+r.name, res[i].Median().Round(time.Millisecond))
	}
	for i, r := range rows[peers:] {
		fmt.Printf("%-48s %9s\n", r.name, res[peers+i].Median().Round(time.Millisecond))
		for j, p := range rows[:peers] {
			fmt.Printf("    vs %-44s %s\n", p.name, res[peers+i].Ratio(res[j]))
		}
	}
	for _, k := range []struct{ kind, name string }{{"cold-nocompile", "cold run without bytecode"}, {"cold", "cold run"}, {"commit", "app-only change"}, {"commit-ci", "app-only change without dist/root"}, {"warm", "warm run"}, {"deps", "dependency change"}} {
		fmt.Printf("\nphases of the last %s:\n%s", k.name, lastLog[k.kind])
	}
}

// changeEveryInode changes the change time of every file below dirs, as a
// copy would give them new inodes (chmod to its own mode).
func changeEveryInode(dirs ...string) {
	for _, dir := range dirs {
		benchutil.Must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.Chmod(p, fi.Mode())
		}))
	}
}

// Generate writes n pure-Python wheels of 50 KiB to 600 KiB of code each, as
// PyPI's typical small and middling libraries are, and returns their names and
// unpacked size.
func Generate(dir string, n int, seed uint64) ([]string, int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	r := rand.New(rand.NewPCG(seed, 1))
	var names []string
	var total int64
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("benchpkg%02d", i)
		files := map[string][]byte{}
		target := 50<<10 + r.IntN(550<<10)
		size := 0
		for m := 0; size < target; m++ {
			var b bytes.Buffer
			fmt.Fprintf(&b, "\"\"\"Module %d of %s.\"\"\"\n\nimport math\n\n", m, name)
			for f := 0; f < 40; f++ {
				fmt.Fprintf(&b, "\ndef function_%d(x, y=%d):\n    \"\"\"Compute something for %d.\"\"\"\n    total = 0\n    for i in range(int(x)):\n        total += math.sqrt(i * y + %d)\n    return total\n", f, r.IntN(100), f, r.IntN(1000))
				fmt.Fprintf(&b, "\n\nclass Thing%d:\n    value = %d\n\n    def method(self, other):\n        return self.value * other + %d\n", f, r.IntN(1e6), r.IntN(1e6))
			}
			files[fmt.Sprintf("%s/mod%03d.py", name, m)] = b.Bytes()
			size += b.Len()
		}
		files[name+"/__init__.py"] = []byte(fmt.Sprintf("\"\"\"%s.\"\"\"\n__version__ = \"1.%d.0\"\n", name, i))
		version := fmt.Sprintf("1.%d.0", i)
		if err := writeWheel(dir, name, version, files); err != nil {
			return nil, 0, err
		}
		names = append(names, name+"=="+version)
		total += int64(size)
	}
	return names, total, nil
}

func writeWheel(dir, name, version string, files map[string][]byte) error {
	info := fmt.Sprintf("%s-%s.dist-info", name, version)
	files[info+"/METADATA"] = []byte(fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: generated for the benchmark\nLicense: MIT\n", name, version))
	files[info+"/WHEEL"] = []byte("Wheel-Version: 1.0\nGenerator: gopythongo-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var record bytes.Buffer
	for _, p := range paths {
		sum := sha256.Sum256(files[p])
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[p]))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	files[info+"/RECORD"] = record.Bytes()
	paths = append(paths, info+"/RECORD")
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-py3-none-any.whl", name, version)))
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, p := range paths {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p, Method: zip.Deflate, Modified: time.Unix(1700000000, 0)})
		if err != nil {
			return err
		}
		if _, err := w.Write(files[p]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
