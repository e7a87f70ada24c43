// Command deb benchmarks gopythongo-package's .deb writer against
// `dpkg-deb --build` at the same compression, on the example venv and on a
// synthetic tree, and prints the ratio (ours / dpkg-deb) and the peak memory of
// each.
//
//	go run ./bench/deb -mb 500 -files 20000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/bench/benchutil"
	"github.com/gopythongo/gopythongo/internal/state"
)

func main() {
	mb := flag.Int("mb", 500, "size of the synthetic tree in MiB")
	files := flag.Int("files", 20000, "files in the synthetic tree")
	runs := flag.Int("runs", 3, "runs of each command; the median counts")
	bin := flag.String("bin", "bin/gopythongo-package", "the gopythongo-package binary")
	example := flag.String("example", "", "a project whose dist/ holds a built venv and state file (default: none)")
	keep := flag.String("dir", "", "keep the trees in this directory and reuse them (default: a temporary directory)")
	flag.Parse()
	ours, err := filepath.Abs(*bin)
	benchutil.Must(err)
	work := *keep
	if work == "" {
		work, err = os.MkdirTemp("", "gpg-bench-deb-")
		benchutil.Must(err)
		defer os.RemoveAll(work)
	}

	type tree struct{ name, project string }
	var trees []tree
	if *example != "" {
		trees = append(trees, tree{"example venv", *example})
	}
	// Two sizes, to show that memory does not grow with the package.
	for _, scale := range []int{5, 1} {
		synth := filepath.Join(work, fmt.Sprintf("synthetic-%d", scale))
		start := time.Now()
		size, err := generate(synth, (*mb<<20)/scale, *files/scale)
		benchutil.Must(err)
		log.Printf("synthetic tree: %d files, %d MiB (%s)", *files/scale, size>>20, time.Since(start).Round(time.Millisecond))
		trees = append(trees, tree{fmt.Sprintf("synthetic %d MiB, %d files", size>>20, *files/scale), synth})
	}

	fmt.Printf("%-34s %-17s %9s %9s %7s %10s %10s\n", "tree", "compression", "ours", "dpkg-deb", "ratio", "ours RSS", "dpkg RSS")
	for _, tr := range trees {
		pkgdir := peerDir(tr.project, work)
		for _, comp := range []string{"zstd", "zstd, no md5sums", "gzip"} {
			args := []string{"--format", "deb", "--compression", comp}
			if c, ok := strings.CutSuffix(comp, ", no md5sums"); ok {
				args = []string{"--format", "deb", "--compression", c, "--set", "package.deb.md5sums=false"}
			}
			var ourRSS, peerRSS int64
			o := benchutil.Median(*runs, func() { ourRSS = max(ourRSS, runRSS(tr.project, ours, args...)) })
			out := filepath.Join(work, "peer.deb")
			p := benchutil.Median(*runs, func() {
				peerRSS = max(peerRSS, runRSS(work, "dpkg-deb", "--root-owner-group", "-Z"+args[3], "--build", pkgdir, out))
			})
			fmt.Printf("%-34s %-17s %9s %9s %6.2fx %7d MiB %7d MiB\n", tr.name, comp, o.Round(time.Millisecond), p.Round(time.Millisecond),
				float64(o)/float64(p), ourRSS>>10, peerRSS>>10)
		}
	}
	fmt.Println("targets: at most 1.0x with zstd, 0.5x with gzip; memory that does not grow with the package")
}

// runRSS runs a command and returns its peak resident memory in KiB, as GNU
// time measures it (the rusage of a child forked from this process would count
// this process's memory until the exec).
func runRSS(dir, name string, args ...string) int64 {
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "RSS=%M", name}, args...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
	i := strings.LastIndex(out.String(), "RSS=")
	var kb int64
	fmt.Sscan(out.String()[i+4:], &kb)
	return kb
}

// peerDir hard-links the project's dist/root into a directory for dpkg-deb, with
// the control file ours writes.
func peerDir(project, work string) string {
	dir := filepath.Join(work, "peer-"+filepath.Base(project))
	os.RemoveAll(dir)
	out, err := exec.Command("cp", "-al", filepath.Join(project, "dist", "root"), dir).CombinedOutput()
	if err != nil {
		log.Fatalf("cp -al: %v\n%s", err, out)
	}
	benchutil.Must(os.MkdirAll(filepath.Join(dir, "DEBIAN"), 0o755))
	benchutil.Must(os.WriteFile(filepath.Join(dir, "DEBIAN", "control"), []byte("Package: bench\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Bench <bench@example.com>\nDescription: benchmark\n a benchmark\n"), 0o644))
	return dir
}

// generate writes a project with a synthetic venv tree of real files of this
// machine (Python sources, shared libraries, data), cycled until it has the
// size and count asked for, in nested packages as a venv has them.
func generate(project string, total, files int) (int64, error) {
	root := filepath.Join(project, "dist", "root", "opt", "bench")
	if b, err := os.ReadFile(filepath.Join(project, "size")); err == nil {
		var n int64
		fmt.Sscan(string(b), &n)
		return n, nil // made before
	}
	var pool []string
	for _, dir := range []string{"/usr/lib/python3.11", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/share/perl", "/usr/lib/jvm"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil && fi.Size() > 0 && fi.Size() < 8<<20 {
					pool = append(pool, p)
				}
			}
			return nil
		})
	}
	if len(pool) == 0 {
		return 0, fmt.Errorf("no files to build the synthetic tree from")
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	per := int64(total / files)
	var size int64
	for i := 0; i < files; i++ {
		dir := filepath.Join(root, "lib", "python3.11", "site-packages", fmt.Sprintf("pkg%03d", i/200), fmt.Sprintf("sub%02d", (i/20)%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		src := pool[i%len(pool)]
		data, err := os.ReadFile(src)
		if err != nil {
			return 0, err
		}
		// Keep the sizes near the average so that the total comes out right.
		want := per/4 + r.Int64N(per*3/2+1)
		for int64(len(data)) < want {
			more, _ := os.ReadFile(pool[r.IntN(len(pool))])
			data = append(data, more...)
		}
		data = data[:want]
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d%s", i, filepath.Ext(src))), data, 0o644); err != nil {
			return 0, err
		}
		size += want
	}
	st := &state.State{
		Commit:  state.Commit{SHA: "bench", Provider: "local", Time: 1700000000},
		Version: &state.Version{SemVer: "1.0.0", PEP440: "1.0.0", Debian: "1.0.0-1", OCITag: "1.0.0", Channel: "release"},
		Venv:    &state.Venv{DeployPath: "/opt/bench", Root: "dist/root", Interpreter: state.Interpreter{Implementation: "cpython", Version: "3.11.2"}},
	}
	if err := st.Save(filepath.Join(project, "dist")); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(project, "size"), []byte(fmt.Sprint(size)), 0o644); err != nil {
		return 0, err
	}
	cfg := "schema: 1\nproject: {name: bench, deploy_path: /opt/bench}\npackage:\n  architecture: amd64\n  deb: {maintainer: \"Bench <bench@example.com>\"}\n"
	if err := os.WriteFile(filepath.Join(project, ".gopythongo.yaml"), []byte(cfg), 0o644); err != nil {
		return 0, err
	}
	return size, nil
}
