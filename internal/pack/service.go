package pack

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fileread"
)

// service is a systemd unit the package installs, and what its maintainer
// scripts do about it: what fpm's --deb-systemd options and debhelper give.
type service struct {
	name        string
	unit        []byte
	wantedBy    string
	user, group string
	createUser  bool
	enable      bool
	start       bool
}

var unitNameRE = regexp.MustCompile(`^[A-Za-z0-9:_.\\-]+$`)
var accountRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)

// newService reads package.service; nil when no service is configured.
func newService(c *config.Config, m *Meta) (*service, error) {
	sc := c.Package.Service
	if sc.Unit == "" && len(sc.Exec) == 0 {
		return nil, nil
	}
	s := &service{name: orDefault(sc.Name, m.Name), user: sc.User, group: orDefault(sc.Group, sc.User),
		createUser: sc.CreateUser, enable: sc.Enable, start: sc.Start, wantedBy: "multi-user.target"}
	if !unitNameRE.MatchString(s.name) {
		return nil, c.Errorf("package.service.name", "%q is not a valid unit name", s.name)
	}
	for _, a := range []string{s.user, s.group} {
		if a != "" && !accountRE.MatchString(a) {
			return nil, c.Errorf("package.service.user", "%q is not a valid user or group name (lowercase letters, digits, _ and -)", a)
		}
	}
	if s.createUser && s.user == "" {
		return nil, c.Errorf("package.service.create_user", "create_user needs package.service.user")
	}
	if sc.Unit != "" {
		data, err := fileread.Read(c.Path(sc.Unit), fileread.ProjectLimit)
		if err != nil {
			return nil, fmt.Errorf("package.service.unit: %w", err)
		}
		s.unit = data
		if w := unitValue(data, "Install", "WantedBy"); w != "" {
			s.wantedBy = strings.Fields(w)[0]
		}
		return s, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\nAfter=network.target\n\n[Service]\nType=simple\n", orDefault(sc.Description, m.Summary))
	fmt.Fprintf(&b, "ExecStart=%s\n", systemdArgv(sc.Exec))
	if s.user != "" {
		fmt.Fprintf(&b, "User=%s\nGroup=%s\n", s.user, s.group)
	}
	if sc.WorkingDirectory != "" {
		fmt.Fprintf(&b, "WorkingDirectory=%s\n", sc.WorkingDirectory)
	}
	keys := make([]string, 0, len(sc.Environment))
	for k := range sc.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(k+"="+sc.Environment[k]))
	}
	fmt.Fprintf(&b, "Restart=on-failure\n\n[Install]\nWantedBy=%s\n", s.wantedBy)
	s.unit = []byte(b.String())
	return s, nil
}

// systemdArgv writes an argv as an ExecStart line, each word quoted when it
// needs to be, so that no configuration ever becomes shell.
func systemdArgv(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = systemdQuote(a)
	}
	return strings.Join(out, " ")
}

func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", "$$", "%", "%%")
	return `"` + r.Replace(s) + `"`
}

func unitValue(unit []byte, section, key string) string {
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			cur = strings.Trim(line, "[]")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && cur == section && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (s *service) unitPath() string { return "lib/systemd/system/" + s.name + ".service" }

func (s *service) wantsLink() string {
	return "/etc/systemd/system/" + s.wantedBy + ".wants/" + s.name + ".service"
}

// The maintainer script parts are those debhelper's dh_installsystemd
// writes: deb-systemd-helper enables the unit (also where systemd does not
// run, a chroot or a container, by the symlink systemctl enable would make)
// and keeps the state that purge undoes; deb-systemd-invoke starts and stops
// it, honouring policy-rc.d; systemctl only reloads, where systemd runs.

func (s *service) postinst() string {
	var b strings.Builder
	unit := "'" + s.name + ".service'"
	b.WriteString("if [ \"$1\" = configure ] || [ \"$1\" = abort-upgrade ] || [ \"$1\" = abort-deconfigure ] || [ \"$1\" = abort-remove ]; then\n")
	if s.createUser {
		fmt.Fprintf(&b, "\tif ! getent group %s >/dev/null; then groupadd --system %s; fi\n", s.group, s.group)
		fmt.Fprintf(&b, "\tif ! getent passwd %s >/dev/null; then\n\t\tuseradd --system --gid %s --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin %s\n\tfi\n", s.user, s.group, s.user)
	}
	if s.enable {
		fmt.Fprintf(&b, "\tdeb-systemd-helper unmask %s >/dev/null || true\n", unit)
		fmt.Fprintf(&b, "\tif deb-systemd-helper --quiet was-enabled %s; then\n\t\tdeb-systemd-helper enable %s >/dev/null || true\n\telse\n\t\tdeb-systemd-helper update-state %s >/dev/null || true\n\tfi\n", unit, unit, unit)
	}
	b.WriteString("\tif [ -d /run/systemd/system ]; then\n\t\tsystemctl --system daemon-reload >/dev/null || true\n")
	if s.start {
		fmt.Fprintf(&b, "\t\tif [ -n \"$2\" ]; then\n\t\t\t_action=restart\n\t\telse\n\t\t\t_action=start\n\t\tfi\n\t\tdeb-systemd-invoke $_action %s >/dev/null || true\n", unit)
	}
	b.WriteString("\tfi\nfi\n")
	return b.String()
}

func (s *service) prerm() string {
	return fmt.Sprintf("if [ -d /run/systemd/system ] && [ \"$1\" = remove ]; then\n\tdeb-systemd-invoke stop '%s.service' >/dev/null || true\nfi\n", s.name)
}

func (s *service) postrm() string {
	unit := "'" + s.name + ".service'"
	return fmt.Sprintf(`if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper mask %s >/dev/null || true
fi
if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper purge %s >/dev/null || true
	deb-systemd-helper unmask %s >/dev/null || true
fi
`, unit, unit, unit)
}

func dirOf(p string) string { return p[:strings.LastIndexByte(p, '/')] }

// maintainerScript joins the generated part with the project's own script:
// the project's runs after, as a function of the same shell.
func maintainerScript(generated string, own []byte, phase string) ([]byte, error) {
	if own == nil {
		return []byte("#!/bin/sh\nset -e\n" + generated), nil
	}
	shebang := "#!/bin/sh"
	body := string(own)
	if strings.HasPrefix(body, "#!") {
		line, rest, _ := strings.Cut(body, "\n")
		switch strings.TrimSpace(line) {
		case "#!/bin/sh", "#!/bin/bash", "#! /bin/sh", "#! /bin/bash":
			shebang, body = strings.ReplaceAll(strings.TrimSpace(line), " ", ""), rest
		default:
			return nil, fmt.Errorf("package.deb.scripts.%s starts with %q: with a service, the script is joined to the generated one and must be /bin/sh or /bin/bash", phase, line)
		}
	}
	return []byte(fmt.Sprintf("%s\nset -e\n%s\nproject_%s() {\n%s\n}\nproject_%s \"$@\"\n", shebang, generated, phase, strings.TrimRight(body, "\n"), phase)), nil
}
