package pack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"

	"github.com/gopythongo/gopythongo/internal/state"
)

// rpmPacker writes an .rpm from the same metadata through nfpm.
type rpmPacker struct{}

func (rpmPacker) Format() state.Format { return state.FormatRPM }

func rpmArch(deb string) string {
	switch deb {
	case "all":
		return "noarch"
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "i386":
		return "i686"
	}
	return deb
}

// rpmVersion splits the Debian rendering: RPM has an epoch, a version (where ~
// sorts pre-releases first, as in Debian) and a release.
func rpmVersion(debian string) (epoch, version, release string) {
	v := debian
	if e, rest, ok := strings.Cut(v, ":"); ok {
		epoch, v = e, rest
	}
	i := strings.LastIndexByte(v, '-')
	return epoch, v[:i], v[i+1:]
}

func (rpmPacker) Pack(ctx context.Context, t *Tree, m *Meta) (state.Artifact, error) {
	c := m.Config
	epoch, ver, rel := rpmVersion(m.Version.Debian)
	arch := rpmArch(m.Arch)
	tmp, err := os.MkdirTemp(m.Out, ".rpm-")
	if err != nil {
		return state.Artifact{}, err
	}
	defer os.RemoveAll(tmp)
	fi := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: m.Epoch}
	}
	var contents files.Contents
	for _, e := range t.Entries {
		dst := "/" + e.Path
		switch {
		case e.IsDir():
			if strings.HasPrefix(dst+"/", t.Deploy+"/") {
				contents = append(contents, &files.Content{Destination: dst, Type: files.TypeDir, FileInfo: fi(e.Mode.Perm())})
			}
		case e.IsSymlink():
			contents = append(contents, &files.Content{Source: e.Link, Destination: dst, Type: files.TypeSymlink, FileInfo: fi(0o777)})
		default:
			src := e.Source
			if e.HardLink != "" {
				src = filepath.Join(t.Root, e.HardLink) // nfpm has no hard links: a copy
			}
			contents = append(contents, &files.Content{Source: src, Destination: dst, Type: files.TypeFile, FileInfo: fi(e.Mode.Perm())})
		}
	}
	info := &nfpm.Info{
		Name: m.Name, Arch: arch, Platform: "linux", Epoch: epoch, Version: ver, VersionSchema: "none", Release: rel,
		Maintainer: c.Package.Deb.Maintainer, Description: m.Summary + "\n" + longDescription(m), Vendor: c.Package.RPM.Vendor,
		Homepage: m.Homepage, License: orDefault(m.License, "unknown"), MTime: m.Epoch,
	}
	pkg, err := interpreterPackage(m, c.Package.RPM.PythonPackage, "rpm")
	if err != nil {
		return state.Artifact{}, err
	}
	info.Overridables.Depends = slices.Clone(c.Package.RPM.Requires)
	if pkg != "" {
		info.Overridables.Depends = append([]string{pkg}, info.Overridables.Depends...)
	}
	info.Overridables.RPM = nfpm.RPM{Group: c.Package.RPM.Group, Summary: m.Summary, Compression: c.Package.RPM.Compression, BuildHost: "gopythongo", Packager: c.Package.Deb.Maintainer}
	svc, err := newService(c, m)
	if err != nil {
		return state.Artifact{}, err
	}
	if svc != nil {
		unit := filepath.Join(tmp, "unit")
		if err := os.WriteFile(unit, svc.unit, 0o644); err != nil {
			return state.Artifact{}, err
		}
		contents = append(contents, &files.Content{Source: unit, Destination: "/usr/lib/systemd/system/" + svc.name + ".service", Type: files.TypeFile, FileInfo: fi(0o644)})
		for name, body := range map[string]*string{"post": &info.Overridables.Scripts.PostInstall, "preun": &info.Overridables.Scripts.PreRemove, "postun": &info.Overridables.Scripts.PostRemove} {
			p := filepath.Join(tmp, name)
			if err := os.WriteFile(p, []byte("#!/bin/sh\nset -e\n"+svc.rpmScript(name)), 0o755); err != nil {
				return state.Artifact{}, err
			}
			*body = p
		}
	}
	info.Overridables.Contents = contents
	if err := nfpm.PrepareForPackager(info, "rpm"); err != nil {
		return state.Artifact{}, fmt.Errorf("prepare the rpm: %w", err)
	}
	name := fmt.Sprintf("%s-%s-%s.%s.rpm", m.Name, ver, rel, arch)
	return writeAtomic(m.Out, name, "rpm", m.Arch, func(f *os.File) error {
		if err := rpm.DefaultRPM.Package(info, f); err != nil {
			return err
		}
		// nfpm cannot be stopped midway: an interrupt during it ends here,
		// before the rename.
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	})
}

// rpmScript is the service part of an RPM scriptlet. RPM passes the number of
// installed instances: 1 on install, 2 on upgrade, 0 on removal.
func (s *service) rpmScript(name string) string {
	unit := s.name + ".service"
	link := s.wantsLink()
	var b strings.Builder
	switch name {
	case "post":
		if s.createUser {
			fmt.Fprintf(&b, "getent group %s >/dev/null || groupadd --system %s\n", s.group, s.group)
			fmt.Fprintf(&b, "getent passwd %s >/dev/null || useradd --system --gid %s --no-create-home --home-dir /nonexistent --shell /sbin/nologin %s\n", s.user, s.group, s.user)
		}
		if s.enable {
			fmt.Fprintf(&b, "if [ \"$1\" -eq 1 ]; then mkdir -p %s; ln -sf /usr/lib/systemd/system/%s %s; fi\n", dirOf(link), unit, link)
		}
		b.WriteString("if [ -d /run/systemd/system ]; then\n\tsystemctl daemon-reload || true\n")
		if s.start {
			fmt.Fprintf(&b, "\tif [ \"$1\" -eq 1 ]; then systemctl start %s || true; else systemctl try-restart %s || true; fi\n", unit, unit)
		}
		b.WriteString("fi\n")
	case "preun":
		fmt.Fprintf(&b, "if [ \"$1\" -eq 0 ] && [ -d /run/systemd/system ]; then systemctl stop %s || true; fi\n", unit)
	case "postun":
		fmt.Fprintf(&b, "if [ \"$1\" -eq 0 ]; then rm -f %s; fi\nif [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi\n", link)
	}
	return b.String()
}
