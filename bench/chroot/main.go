// Command chroot measures what the chroot builder's root cache saves: a build
// of examples/hello in a Debian 12 root bootstrapped for it (what a builder
// without a cache, or with venv.chroot.update, pays every time) against the
// same build from the cached tarball on its first use on a machine (unpacked
// once) and after (an overlay of the unpacked tree), and the unpack alone
// against the bootstrap. It needs root and the Debian mirror.
//
//	go run ./bench/chroot -runs 3
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/gopythongo/gopythongo/bench/benchutil"
	"github.com/gopythongo/gopythongo/internal/rootfs"
	"github.com/gopythongo/gopythongo/internal/state"
)

func main() {
	runs := flag.Int("runs", 3, "runs of each warm measurement; the median counts")
	bin := flag.String("bin", "bin/gopythongo-build-venv", "the gopythongo-build-venv binary")
	flag.Parse()
	ours, err := filepath.Abs(*bin)
	benchutil.Must(err)
	if _, err := os.Stat(ours); err != nil {
		log.Fatalf("%v: build it first (make build)", err)
	}
	if os.Geteuid() != 0 {
		log.Fatal("the chroot builder needs root")
	}
	root, _ := filepath.Abs(".")
	work, err := os.MkdirTemp("", "gpg-bench-chroot-")
	benchutil.Must(err)
	defer os.RemoveAll(work)

	project := filepath.Join(work, "hello")
	benchutil.Must(exec.Command("cp", "-a", filepath.Join(root, "examples", "hello"), project).Run())
	wheels := filepath.Join(project, "wheels")
	benchutil.PipWheel(filepath.Join(root, "examples", "hello-lib"), wheels, work)
	roots := filepath.Join(work, "roots")
	benchutil.Must(os.WriteFile(filepath.Join(project, ".gopythongo.yaml"), []byte(fmt.Sprintf(`schema: 1
project: {name: hello, deploy_path: /opt/gopythongo-bench, python: %s}
venv:
  builder: chroot
  chroot: {install: [python3, python3-venv, python3-setuptools, python3-wheel], cache_dir: %s}
  find_links: [wheels]
  no_index: true
  build_isolation: false
`, benchutil.DebianPython, roots)), 0o644))
	st := &state.State{Commit: state.Commit{SHA: "bench", Provider: "local", Time: 1700000000}}
	benchutil.Must(st.Save(filepath.Join(project, "dist")))

	var lastLog []byte
	build := func(update bool) func() {
		return func() {
			cmd := exec.Command(ours, "--cache-dir", filepath.Join(work, "cache"))
			cmd.Dir = project
			cmd.Env = append(os.Environ(), fmt.Sprintf("GOPYTHONGO_VENV_CHROOT_UPDATE=%t", update))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				log.Fatalf("gopythongo-build-venv: %v\n%s", err, stderr.Bytes())
			}
			lastLog = stderr.Bytes()
		}
	}
	// One cold run: a bootstrap takes a minute or more.
	cold := benchutil.Median(1, build(true))
	coldLog := lastLog
	boot := bootstrapTime(coldLog)
	warm := benchutil.Median(*runs, build(false))
	// A tarball restored from a CI cache onto a fresh machine: unpacked once.
	firstUse := benchutil.Median(1, func() {
		trees, _ := filepath.Glob(filepath.Join(roots, "*.root"))
		for _, t := range trees {
			benchutil.Must(os.RemoveAll(t))
		}
		build(false)()
	})

	tarballs, _ := filepath.Glob(filepath.Join(roots, "*.tar"))
	if len(tarballs) != 1 {
		log.Fatalf("want one cached root in %s, have %v", roots, tarballs)
	}
	unpack := benchutil.Median(*runs, func() {
		dir := filepath.Join(work, "unpacked")
		benchutil.Must(rootfs.Unpack(context.Background(), tarballs[0], dir))
		benchutil.Must(os.RemoveAll(dir))
	})
	fi, _ := os.Stat(tarballs[0])

	fmt.Printf("%-52s %9s\n", "case", "time")
	fmt.Printf("%-52s %9s\n", "peer: bootstrap the root (mmdebstrap)", boot.Round(100*time.Millisecond))
	fmt.Printf("%-52s %9s  ratio %.3fx\n", fmt.Sprintf("unpack of the cached tarball (%d MiB)", fi.Size()>>20), unpack.Round(time.Millisecond), float64(unpack)/float64(boot))
	fmt.Printf("%-52s %9s\n", "peer: build-venv chroot, root bootstrapped for it", cold.Round(100*time.Millisecond))
	fmt.Printf("%-52s %9s  ratio %.3fx\n", "build-venv chroot, tarball unpacked on first use", firstUse.Round(time.Millisecond), float64(firstUse)/float64(cold))
	fmt.Printf("%-52s %9s  ratio %.3fx\n", "build-venv chroot, unpacked root (overlay)", warm.Round(time.Millisecond), float64(warm)/float64(cold))
	fmt.Printf("\nphases of the cold run:\n%s\nphases of the last warm run:\n%s", coldLog, lastLog)
}

// bootstrapTime reads the bootstrap's duration from the build's log line
// "root ... made with mmdebstrap in 1m2.3s".
func bootstrapTime(logText []byte) time.Duration {
	m := regexp.MustCompile(`made with \S+ in (\S+),`).FindSubmatch(logText)
	if m == nil {
		log.Fatalf("no bootstrap in the log:\n%s", logText)
	}
	d, err := time.ParseDuration(string(m[1]))
	benchutil.Must(err)
	return d
}
