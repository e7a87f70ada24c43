package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
)

// DefaultFile is the configuration file looked for in the project root.
const DefaultFile = ".gopythongo.yaml"

// Override is a value set on the command line.
type Override struct {
	Path  string // dotted key path
	Value string
	Flag  string // the flag as the user wrote it, for origins and errors
}

// Options says where Load finds its inputs.
type Options struct {
	// File is the file named by --config; "" looks for .gopythongo.yaml in Dir
	// and goes on with defaults when there is none.
	File string
	// Dir is the working directory; "" means the process's.
	Dir string
	// Environ is the environment, as os.Environ returns it.
	Environ []string
	// Overrides come from flags and win over everything.
	Overrides []Override
	// Checks are the rules of the implementations (stores, builders), kept
	// beside them; they run after the configuration's own rules.
	Checks []Check
}

// Check is a rule of an implementation over the loaded configuration; each
// error names its key (Config.Errorf).
type Check func(*Config) []error

// Load reads the configuration: defaults, then the file, then GOPYTHONGO_*
// variables, then flags. All problems are reported at once.
func Load(o Options) (*Config, error) {
	dir := o.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("configuration: %w", err)
		}
		dir = wd
	}
	cfg := &Config{Dir: dir, Origins: map[string]Origin{}}
	root := reflect.ValueOf(cfg).Elem()
	applyDefaults(root) // a key missing from Origins has the zero Origin: its default

	var errs []error
	if err := cfg.readFile(o.File, root); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, cfg.applyEnv(o.Environ, root)...)
	errs = append(errs, cfg.applyOverrides(o.Overrides, root)...)
	if len(errs) == 0 {
		cfg.derive()
		errs = append(errs, cfg.validate()...)
		for _, check := range o.Checks {
			errs = append(errs, check(cfg)...)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

func (c *Config) readFile(file string, root reflect.Value) error {
	explicit := file != ""
	if !explicit {
		file = DefaultFile
	}
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.Dir, file)
	}
	data, err := fileread.Read(path, fileread.ProjectLimit)
	switch {
	case err != nil && !explicit && errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("configuration file: %w (pass --config with an existing file)", err)
	}
	c.File = file
	if explicit {
		c.Dir = filepath.Dir(path)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: not valid YAML: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: defaults
	}
	d := &decoder{
		origin:  func(n *yaml.Node) Origin { return Origin{Kind: OriginFile, File: file, Line: n.Line} },
		origins: c.Origins,
	}
	d.decode(&doc, root, "", "")
	return errors.Join(d.errs...)
}

func (c *Config) applyEnv(environ []string, root reflect.Value) []error {
	// An empty variable is unset: CI systems pass empty values for inputs
	// nobody set.
	type setting struct {
		key  Key
		name string
		val  string
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "GOPYTHONGO_") {
			env[k] = v // the last of a name twice, as os/exec passes it
		}
	}
	var plain, input []setting
	var unknown []string
	for name, val := range env {
		if val == "" {
			continue
		}
		suffix, isInput := strings.CutPrefix(name, "GOPYTHONGO_INPUT_")
		if !isInput {
			suffix = strings.TrimPrefix(name, "GOPYTHONGO_")
		}
		keys := envKeys(suffix)
		if len(keys) == 0 {
			unknown = append(unknown, name)
		}
		for _, k := range keys {
			if isInput {
				input = append(input, setting{k, name, val})
			} else {
				plain = append(plain, setting{k, name, val})
			}
		}
	}
	// An action's input, given, wins: a GitHub composite action sets every
	// input's variable, and its own env would otherwise hide the workflow's
	// and the job's.
	byIndex := func(a, b setting) int { return slices.Compare(a.key.Index, b.key.Index) }
	slices.SortStableFunc(plain, byIndex)
	slices.SortStableFunc(input, byIndex)
	var errs []error
	for _, s := range slices.Concat(plain, input) {
		errs = append(errs, c.set(root, s.key, s.val, Origin{Kind: OriginEnv, Name: s.name})...)
	}
	// GOPYTHONGO_ variables are also used for step outputs (GOPYTHONGO_SEMVER),
	// so only near misses of a key's variable are reported, as likely typos.
	if len(unknown) > 0 {
		var names []string
		for _, k := range LeafKeys() {
			names = append(names, k.EnvName())
		}
		for _, name := range unknown {
			if s := Suggest(name, names); s != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s names no configuration key; did you mean %s? (it is ignored)", name, s))
			}
		}
	}
	slices.Sort(c.Warnings)
	return errs
}

func (c *Config) applyOverrides(overrides []Override, root reflect.Value) []error {
	var errs []error
	for _, o := range overrides {
		k, ok := LookupKey(o.Path)
		if !ok || k.Section {
			var paths []string
			for _, lk := range LeafKeys() {
				paths = append(paths, lk.Path)
			}
			msg := fmt.Sprintf("unknown configuration key %q", o.Path)
			if s := Suggest(o.Path, paths); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			errs = append(errs, &Error{Origin: Origin{Kind: OriginFlag, Name: o.Flag}, Msg: msg + " (docs/config.md lists them)"})
			continue
		}
		errs = append(errs, c.set(root, k, o.Value, Origin{Kind: OriginFlag, Name: o.Flag})...)
	}
	return errs
}

// set replaces one key's value with a string from the environment or a flag.
func (c *Config) set(root reflect.Value, k Key, value string, origin Origin) []error {
	for p := range c.Origins {
		if strings.HasPrefix(p, k.Path+".") || strings.HasPrefix(p, k.Path+"[") {
			delete(c.Origins, p)
		}
	}
	f := root.FieldByIndex(k.Index)
	var tag reflect.StructTag
	if len(k.Enum) > 0 {
		tag = reflect.StructTag(`enum:"` + strings.Join(k.Enum, ",") + `"`)
	}
	d := &decoder{origin: func(*yaml.Node) Origin { return origin }, origins: c.Origins}
	fresh := reflect.New(f.Type()).Elem()
	d.decode(valueNode(k.Type, value), fresh, k.Path, tag)
	if len(d.errs) == 0 {
		f.Set(fresh)
	}
	c.Origins[k.Path] = origin
	return d.errs
}

// derive fills values that default to something computed from the project.
func (c *Config) derive() {
	if c.Project.Name == "" {
		var py struct {
			Project struct {
				Name string `toml:"name"`
			} `toml:"project"`
		}
		if err := pyproject.Decode(filepath.Join(c.Dir, "pyproject.toml"), &py); err == nil && py.Project.Name != "" {
			c.Project.Name = py.Project.Name
			c.Origins["project.name"] = Origin{Kind: OriginDefault, Name: "pyproject.toml"}
		}
	}
	if c.Project.DeployPath == "" && c.Project.Name != "" {
		c.Project.DeployPath = "/opt/" + c.Project.Name
	}
}

// Path resolves a path from the configuration against the project root.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// CacheDir is where the steps keep what a later run reuses (wheels,
// bytecode, roots, listings of base image layers): venv.cache_dir, else
// $XDG_CACHE_HOME/gopythongo, else ~/.cache/gopythongo.
func (c *Config) CacheDir(getenv func(string) string) string {
	switch {
	case c.Venv.CacheDir != "":
		return c.Path(c.Venv.CacheDir)
	case getenv("XDG_CACHE_HOME") != "":
		return filepath.Join(getenv("XDG_CACHE_HOME"), "gopythongo")
	case getenv("HOME") != "":
		return filepath.Join(getenv("HOME"), ".cache", "gopythongo")
	}
	return filepath.Join(os.TempDir(), "gopythongo-cache")
}

// DistDir is the absolute dist directory.
func (c *Config) DistDir() string { return c.Path(c.Project.Dist) }

// Errorf makes an error about a key, placed where its value came from.
// A key that was not set is placed at the nearest enclosing value that was.
func (c *Config) Errorf(path, format string, args ...any) error {
	o := c.Origins[path]
	for p := path; o.Kind == OriginDefault && p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		if po, ok := c.Origins[p]; ok && po.Kind != OriginDefault {
			o = po
		}
	}
	return &Error{Origin: o, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Store finds a publish store by name.
func (c *Config) Store(name string) (StoreConfig, bool) {
	for _, s := range c.Publish.Stores {
		if s.Name == name {
			return s, true
		}
	}
	return StoreConfig{}, false
}

// DefaultStore is a store configuration with every default, as an entry of
// publish.stores gets them.
func DefaultStore(name, typ string) StoreConfig {
	var s StoreConfig
	applyDefaults(reflect.ValueOf(&s).Elem())
	s.Name, s.Type = name, typ
	return s
}
