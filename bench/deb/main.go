// Command deb benchmarks gopythongo-package's .deb writer against
// `dpkg-deb --build` at the same compression and prints the ratio (ours /
// dpkg-deb, the median of alternating rounds with the smallest and largest)
// and the peak memory of each. The trees: a venv of the corpus's real
// distributions built by gopythongo-build-venv, as a pipeline packages it
// (with the md5 sums the build recorded), the example venv, and synthetic
// trees of two sizes that no build made (every file hashed).
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
	"strconv"
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
	corpus := flag.String("corpus", "dist/fixtures/pypi/files", "the corpus's wheels (make deps), of which gopythongo-build-venv builds a venv (\"\": none)")
	gzip := flag.Bool("gzip", true, "time gzip, tar.gz and OCI layers too (dpkg-deb's single-threaded gzip -9 takes a minute at 500 MiB)")
	buildVenv := flag.String("build-venv", "bin/gopythongo-build-venv", "the gopythongo-build-venv binary")
	base := flag.String("base", "oci-layout:dist/fixtures/debian-bookworm-amd64-python3-passwd-oci:bookworm", "the OCI base image (make test caches this one)")
	flag.Parse()
	ours, err := filepath.Abs(*bin)
	benchutil.Must(err)
	if dir, ok := strings.CutPrefix(*base, "oci-layout:"); ok && !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		benchutil.Must(err)
		*base = "oci-layout:" + abs
	}
	work := *keep
	if work == "" {
		work, err = os.MkdirTemp("", "gpg-bench-deb-")
		benchutil.Must(err)
		defer os.RemoveAll(work)
	}

	type tree struct{ name, project string }
	var trees []tree
	if *corpus != "" {
		project := filepath.Join(work, "corpus")
		start := time.Now()
		files, size := corpusVenv(project, *corpus, *buildVenv)
		log.Printf("corpus venv: %d files, %d MiB (%s)", files, size>>20, time.Since(start).Round(time.Millisecond))
		trees = append(trees, tree{fmt.Sprintf("corpus venv %d MiB, %d files", size>>20, files), project})
	}
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

	fmt.Printf("load %s\n%-34s %-19s %9s %9s %-18s %10s %10s\n", benchutil.Load(), "tree", "compression", "ours", "dpkg-deb", "ratio (range)", "ours RSS", "dpkg RSS")
	for _, tr := range trees {
		pkgdir := peerDir(tr.project, work)
		// dpkg-deb writes no md5sums: dh_md5sums does, before it, so the
		// peer of a .deb with md5sums is md5sum over the tree, then dpkg-deb.
		comps := []string{"zstd", "zstd, md5sum + dpkg", "zstd, no md5sums"}
		if *gzip {
			comps = append(comps, "gzip")
		}
		for _, comp := range comps {
			args := []string{"--format", "deb", "--compression", comp}
			if c, ok := strings.CutSuffix(comp, ", no md5sums"); ok {
				args = []string{"--format", "deb", "--compression", c, "--set", "package.deb.md5sums=false"}
			}
			sums := strings.HasSuffix(comp, "md5sum + dpkg")
			if sums {
				args[3] = "zstd"
			}
			var ourRSS, peerRSS int64
			out := filepath.Join(work, "peer.deb")
			runs := benchutil.Alternate(*runs, benchutil.Case{Run: func() { ourRSS = max(ourRSS, runRSS(tr.project, ours, args...)) }},
				benchutil.Case{Run: func() {
					if sums {
						peerRSS = max(peerRSS, runRSS(pkgdir, "bash", "-c", "set -o pipefail; find . -type f ! -path './DEBIAN/*' -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums"))
					}
					peerRSS = max(peerRSS, runRSS(work, "dpkg-deb", "--root-owner-group", "-Z"+args[3], "--build", pkgdir, out))
				}})
			os.Remove(filepath.Join(pkgdir, "DEBIAN", "md5sums"))
			fmt.Printf("%-34s %-19s %9s %9s %-18s %7d MiB %7d MiB\n", tr.name, comp, runs[0].Median().Round(time.Millisecond), runs[1].Median().Round(time.Millisecond),
				runs[0].Ratio(runs[1]), ourRSS>>10, peerRSS>>10)
		}
	}
	fmt.Println("targets: at most 1.0x with zstd, 0.5x with gzip; memory that does not grow with the package")
	fmt.Println("(\"zstd\" and \"zstd, md5sum + dpkg\" are the same .deb of ours, with md5sums; the peer of the second sums the tree as dh_md5sums does)")

	if !*gzip {
		return
	}
	// The other archives against the tar pipelines a user would write: the
	// same tree, sorted, at gzip's default level.
	fmt.Printf("\n%-34s %-8s %9s %9s %7s %11s %11s\n", "tree", "format", "ours", "peer", "ratio", "ours size", "peer size")
	for _, tr := range trees {
		root := filepath.Join(tr.project, "dist", "root")
		peers := []struct{ format, peer, out string }{
			{"tar.gz", "tar --sort=name --owner=0 --group=0 --numeric-owner -C " + root + " -cf - . | gzip -6", "bench_1.0.0_amd64.tar.gz"},
			{"oci", "tar --sort=name --owner=0 --group=0 --numeric-owner -C " + root + " -cf - . | pigz -6", "oci"},
		}
		for _, pc := range peers {
			args := []string{"--format", pc.format}
			if pc.format == "oci" {
				args = append(args, "--set", "package.oci.base="+*base, "--set", "package.oci.tarball=false")
			}
			o := benchutil.Median(*runs, func() { runRSS(tr.project, ours, args...) })
			peerOut := filepath.Join(work, "peer.tar.gz")
			p := benchutil.Median(*runs, func() {
				benchutil.Must(exec.Command("bash", "-c", "set -o pipefail; "+pc.peer+" > "+peerOut).Run())
			})
			fmt.Printf("%-34s %-8s %9s %9s %6.2fx %7d MiB %7d MiB\n", tr.name, pc.format, o.Round(time.Millisecond), p.Round(time.Millisecond),
				float64(o)/float64(p), duSize(filepath.Join(tr.project, "dist", pc.out))>>20, duSize(peerOut)>>20)
		}
	}
	fmt.Println("targets: tar.gz at most 1.0x at the same size, oci at most 1.2x (the base image's check included)")
}

// duSize is the size of a file, or of the files under a directory.
func duSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
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

// peerDir copies the project's dist/root into a directory for dpkg-deb, with
// the control file ours writes. A copy, not links: a link changes the change
// time of the file linked, so that no sum gopythongo-build-venv recorded
// would hold. The copy is written out before anything is timed.
func peerDir(project, work string) string {
	dir := filepath.Join(work, "peer-"+filepath.Base(project))
	os.RemoveAll(dir)
	out, err := exec.Command("cp", "-a", filepath.Join(project, "dist", "root"), dir).CombinedOutput()
	if err != nil {
		log.Fatalf("cp -a: %v\n%s", err, out)
	}
	benchutil.Must(exec.Command("sync").Run())
	benchutil.Must(os.MkdirAll(filepath.Join(dir, "DEBIAN"), 0o755))
	benchutil.Must(os.WriteFile(filepath.Join(dir, "DEBIAN", "control"), []byte("Package: bench\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Bench <bench@example.com>\nDescription: benchmark\n a benchmark\n"), 0o644))
	return dir
}

// generate writes a project with a synthetic venv tree of real files of this
// machine (Python sources, shared libraries, data), cycled until it has the
// size and count asked for, in nested packages as a venv has them.
func generate(project string, total, files int) (int64, error) {
	root := filepath.Join(project, "dist", "root", "opt", "bench")
	// The venv's interpreter link, which an image's base must resolve.
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return 0, err
	}
	if err := os.Symlink(benchutil.DebianPython, filepath.Join(root, "bin", "python3")); err != nil && !os.IsExist(err) {
		return 0, err
	}
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
	cfg := "schema: 1\nproject: {name: bench, deploy_path: /opt/bench}\npackage:\n  architecture: amd64\n  deb: {maintainer: \"Bench <bench@example.com>\", python_package: python3}\n"
	if err := os.WriteFile(filepath.Join(project, ".gopythongo.yaml"), []byte(cfg), 0o644); err != nil {
		return 0, err
	}
	return size, nil
}

// corpusVenv builds, with gopythongo-build-venv, a venv of the corpus's real
// distributions (benchutil.CorpusPackages) into project, once; it returns
// the tree's files and size.
func corpusVenv(project, corpus, buildVenv string) (int, int64) {
	wheels, _ := filepath.Glob(filepath.Join(corpus, "*.whl"))
	if len(wheels) < 80 {
		log.Fatalf("%s holds %d wheels: run make deps first, or -corpus \"\"", corpus, len(wheels))
	}
	bin, err := filepath.Abs(buildVenv)
	benchutil.Must(err)
	abs, err := filepath.Abs(corpus)
	benchutil.Must(err)
	var quoted []string
	for _, n := range benchutil.CorpusPackages {
		quoted = append(quoted, strconv.Quote(n))
	}
	benchutil.Must(os.MkdirAll(project, 0o755))
	cfg := fmt.Sprintf(`schema: 1
project: {name: bench, deploy_path: /opt/bench-corpus, python: %s}
venv: {find_links: [%s], no_index: true, project: false, packages: [%s]}
package:
  architecture: amd64
  deb: {maintainer: "Bench <bench@example.com>", python_package: python3}
`, benchutil.DebianPython, abs, strings.Join(quoted, ", "))
	benchutil.Must(os.WriteFile(filepath.Join(project, ".gopythongo.yaml"), []byte(cfg), 0o644))
	st := &state.State{
		Commit:  state.Commit{SHA: "bench", Provider: "local", Time: 1700000000},
		Version: &state.Version{SemVer: "1.0.0", PEP440: "1.0.0", Debian: "1.0.0-1", OCITag: "1.0.0", Channel: "release"},
	}
	benchutil.Must(st.Save(filepath.Join(project, "dist")))
	cmd := exec.Command(bin, "--cache-dir", filepath.Join(project, "cache"))
	cmd.Dir, cmd.Env = project, benchutil.CleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("gopythongo-build-venv: %v\n%s", err, out)
	}
	done, err := state.Load(filepath.Join(project, "dist"))
	benchutil.Must(err)
	return done.Venv.Files, done.Venv.Size
}
