package packagestep

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/pack"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps"
	"github.com/gopythongo/gopythongo/internal/ui"
)

const packageHelp = `
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

// Package is the gopythongo-package command.
func Package() cli.Step {
	var formats cli.Strings
	return cli.Step{
		Name:    "gopythongo-package",
		Summary: "make .deb, .rpm, tar and OCI artifacts of the built venv",
		Help:    packageHelp,
		Keys:    []cli.KeyFlag{{Flag: "compression", Path: "package.deb.compression"}, {Flag: "base-image", Path: "package.oci.base"}},
		Flags: func(fs *flag.FlagSet) {
			fs.Var(&formats, "format", "a format to make (repeatable; default: package.formats)")
		},
		Section: "package",
		Checks:  steps.ConfigChecks(),
		Outputs: []cli.Output{
			{Name: "deb", Doc: "the .deb, e.g. dist/hello_1.2.3-1_all.deb"},
			{Name: "rpm", Doc: "the .rpm"},
			{Name: "tar_gz", Doc: "the .tar.gz"},
			{Name: "tar_zst", Doc: "the .tar.zst"},
			{Name: "tar_xz", Doc: "the .tar.xz"},
			{Name: "oci", Doc: "the OCI image layout directory, dist/oci"},
			{Name: "oci_digest", Doc: "the image's manifest digest"},
		},
		Check: func(ctx context.Context, s *cli.Session) []check.Finding {
			f, st := steps.StateFinding(s, func(st *state.State) string {
				if st.Venv == nil {
					return "it records no venv yet: gopythongo-build-venv builds it"
				}
				return ""
			})
			var v *state.Venv
			if st != nil {
				v = st.Venv
			}
			fm := []string(formats)
			if len(fm) == 0 {
				fm = s.Config.Package.Formats
			}
			return append([]check.Finding{f}, pack.Check(ctx, s.Config, fm, v)...)
		},
		Run: func(ctx context.Context, s *cli.Session) error { return packageRun(ctx, s, formats) },
	}
}

func packageRun(ctx context.Context, s *cli.Session, formats []string) error {
	c := s.Config
	if len(formats) == 0 {
		formats = c.Package.Formats
	}
	packers, err := pack.PackersFor(formats)
	if err != nil {
		return err
	}
	st, epoch, err := s.Begin()
	if err != nil {
		return err
	}
	if st.Venv == nil {
		return config.Usagef("the state file records no venv: run gopythongo-build-venv first")
	}
	dist := c.DistDir()
	t, err := pack.Scan(filepath.Join(dist, "root"), st.Venv.DeployPath, st.Venv)
	if err != nil {
		return err
	}
	for _, o := range t.Outside {
		s.Log.Warnf("the symlink %s points out of the venv; it is packaged as it is", o)
		s.Reporter.Annotate(ci.Annotation{Level: ci.LevelWarning, Title: "gopythongo-package", Message: "symlink out of the venv: " + o})
	}
	m, err := pack.NewMeta(c, st, t, epoch)
	if err != nil {
		return err
	}
	m.LayerCache = filepath.Join(c.CacheDir(s.Getenv), pack.LayerCacheDir)
	arts, err := pack.Run(ctx, s.Log, dist, packers, t, m)
	if err != nil {
		return err
	}
	// This run's formats replace their earlier artifacts; the others stay.
	st.SetArtifacts(func(f state.Format) bool { return slices.Contains(formats, string(f)) }, arts)
	if err := pack.WriteSums(dist, st.Artifacts); err != nil {
		return err
	}
	var outputs []cli.Value
	for _, a := range arts {
		key := strings.NewReplacer(".", "_").Replace(string(a.Format))
		outputs = append(outputs, cli.Value{Name: key, Value: steps.DistPath(s, a.Path)})
		if a.Digest != "" {
			outputs = append(outputs, cli.Value{Name: "oci_digest", Value: a.Digest})
		}
	}
	return s.Finish(cli.Outcome{State: st, Outputs: outputs, Summary: packageSummary(m, arts)})
}

func packageSummary(m *pack.Meta, arts []state.Artifact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Packages of %s %s\n\n| format | artifact | size | sha256 or digest |\n| --- | --- | --- | --- |\n", m.Name, m.Version.SemVer)
	for _, a := range arts {
		id := a.SHA256
		if a.Digest != "" {
			id = a.Digest
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | `%s` |\n", a.Format, a.Path, ui.Size(a.Size), id)
	}
	return b.String()
}
