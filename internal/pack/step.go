package pack

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/ui"
)

const help = `
Packs the venv that gopythongo-build-venv left in dist/root into artifacts:
  deb                 name_version_arch.deb: computed Depends (the interpreter's
                      package), maintainer scripts, conffiles, a systemd service
                      (package.service), copyright, changelog and lintian overrides
                      (lintian-clean), data.tar compressed with parallel gzip, zstd,
                      xz or none
  rpm                 name-version-release.arch.rpm from the same metadata
  tar.gz tar.zst tar.xz  rooted at /, so that tar -C / -xf deploys it
  oci                 an OCI image layout in dist/oci: the base image
                      (package.oci.base) plus the dependencies and the project as
                      separate layers; package.oci.tarball adds a docker-load tarball

Every artifact is reproducible: the same inputs give identical bytes (and the same
image digest); every time stamp is SOURCE_DATE_EPOCH, by default the commit time.
Artifacts are written under temporary names and renamed when complete; each gets a
CycloneDX SBOM beside it, and dist/SHA256SUMS lists them all.

Needs the state file with a version and a venv (gopythongo-version and
gopythongo-build-venv).

Examples:
  gopythongo-package                               the formats of package.formats
  gopythongo-package --format deb --format oci
  gopythongo-package --set package.deb.compression=zstd
`

// Step is the gopythongo-package command.
func Step() cli.Step {
	var formats cli.Strings
	return cli.Step{
		Name:    "gopythongo-package",
		Summary: "make .deb, .rpm, tar and OCI artifacts of the built venv",
		Help:    help,
		Keys:    []cli.KeyFlag{{Flag: "compression", Path: "package.deb.compression"}, {Flag: "base-image", Path: "package.oci.base"}},
		Flags: func(fs *flag.FlagSet) {
			fs.Var(&formats, "format", "a format to make (repeatable; default: package.formats)")
		},
		Section: "package",
		Outputs: []cli.Output{
			{Name: "deb", Doc: "the .deb, e.g. dist/hello_1.2.3-1_all.deb"},
			{Name: "rpm", Doc: "the .rpm"},
			{Name: "tar_gz", Doc: "the .tar.gz (and tar_zst, tar_xz)"},
			{Name: "oci", Doc: "the OCI image layout directory, dist/oci"},
			{Name: "oci_digest", Doc: "the image's manifest digest"},
		},
		Run: func(ctx context.Context, s *cli.Session) error { return run(ctx, s, formats) },
	}
}

func run(ctx context.Context, s *cli.Session, formats []string) error {
	c := s.Config
	if len(formats) == 0 {
		formats = c.Package.Formats
	}
	var packers []Packer
	for _, f := range formats {
		p, err := PackerFor(f)
		if err != nil {
			return cli.Fail(cli.ExitUsage, err)
		}
		packers = append(packers, p)
	}
	st, err := s.LoadState()
	if err != nil {
		return err
	}
	if st.Venv == nil {
		return cli.Fail(cli.ExitUsage, fmt.Errorf("the state file records no venv: run gopythongo-build-venv first"))
	}
	epoch, err := st.SourceDateEpoch(s.Getenv)
	if err != nil {
		return cli.Fail(cli.ExitUsage, err)
	}
	dist := c.DistDir()
	if f, err := os.CreateTemp(dist, ".writable-"); err != nil {
		return fmt.Errorf("the dist directory %s is not writable: %w", dist, err)
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	t, err := Scan(filepath.Join(dist, "root"), st.Venv.DeployPath, st.Venv)
	if err != nil {
		return err
	}
	for _, o := range t.Outside {
		s.Log.Warnf("the symlink %s points out of the venv; it is packaged as it is", o)
		s.Reporter.Annotate(ci.Annotation{Level: ci.LevelWarning, Title: "gopythongo-package", Message: "symlink out of the venv: " + o})
	}
	m, err := NewMeta(c, st, t, epoch)
	if err != nil {
		return err
	}
	var arts []state.Artifact
	for _, p := range packers {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		ph := s.Log.Phase(string(p.Format()))
		defer ph.End()
		art, err := p.Pack(ctx, t, m)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Format(), err)
		}
		sbom, err := SBOM(m, art)
		if err != nil {
			return err
		}
		art.SBOM = strings.TrimSuffix(art.Path, "/") + ".cdx.json"
		if err := state.WriteFileAtomic(filepath.Join(dist, art.SBOM), sbom, 0o644); err != nil {
			return err
		}
		arts = append(arts, art)
		what := fmt.Sprintf("%s, %s", art.Path, humanSize(art.Size))
		if art.Digest != "" {
			what = fmt.Sprintf("%s, %s", art.Path, art.Digest)
		}
		ph.Done(what)
	}
	if err := writeSums(dist, arts); err != nil {
		return err
	}
	if ctx.Err() != nil {
		// Artifacts that were finished stay (each whole, by rename); the
		// state file does not name them.
		return context.Cause(ctx)
	}
	st.SetArtifacts(func(f state.Format) bool { _, err := PackerFor(string(f)); return err == nil }, arts)
	if err := st.Save(dist); err != nil {
		return err
	}
	for _, a := range arts {
		key := strings.NewReplacer(".", "_").Replace(string(a.Format))
		s.Reporter.Output(key, filepath.ToSlash(filepath.Join(c.Project.Dist, a.Path)))
		fmt.Fprintf(s.Stdout, "%s=%s\n", key, filepath.ToSlash(filepath.Join(c.Project.Dist, a.Path)))
		if a.Digest != "" {
			s.Reporter.Output("oci_digest", a.Digest)
			fmt.Fprintf(s.Stdout, "oci_digest=%s\n", a.Digest)
		}
	}
	s.Reporter.Summary(summary(m, arts))
	return nil
}

// writeSums writes dist/SHA256SUMS for every artifact file.
func writeSums(dist string, arts []state.Artifact) error {
	var lines []string
	for _, a := range arts {
		if a.Format != "oci" {
			lines = append(lines, a.SHA256+"  "+a.Path)
		}
		if a.Tarball != "" {
			sum, _, err := hashFile(filepath.Join(dist, a.Tarball))
			if err != nil {
				return err
			}
			lines = append(lines, sum+"  "+a.Tarball)
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return nil
	}
	return state.WriteFileAtomic(filepath.Join(dist, "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func summary(m *Meta, arts []state.Artifact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Packages of %s %s\n\n| format | artifact | size | sha256 or digest |\n| --- | --- | --- | --- |\n", m.Name, m.Version.SemVer)
	for _, a := range arts {
		id := a.SHA256
		if a.Digest != "" {
			id = a.Digest
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | `%s` |\n", a.Format, a.Path, humanSize(a.Size), id)
	}
	return b.String()
}

func humanSize(n int64) string { return ui.Size(n) }
