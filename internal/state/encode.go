package state

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// encode is the state file's bytes: what json.MarshalIndent(s, "", "  ")
// writes, without its reflection, which cost a version run at a tag 6 % of
// its time (encoders built for all eight types, most never used there).
// TestEncodeIsEncodingJSON holds every field to encoding/json's output.
func (s *State) encode() ([]byte, error) {
	o := openObject(make([]byte, 0, 1024))
	o.int("schema", int64(s.Schema), false)
	o.key("commit")
	o.b = s.Commit.appendJSON(o.b)
	if s.Version != nil {
		o.key("version")
		o.b = s.Version.appendJSON(o.b)
	}
	if s.Venv != nil {
		o.key("venv")
		o.b = s.Venv.appendJSON(o.b)
	}
	if len(s.Artifacts) > 0 {
		o.key("artifacts")
		o.b = appendArray(o.b, s.Artifacts, Artifact.appendJSON)
	}
	if len(s.Publications) > 0 {
		o.key("publications")
		o.b = appendArray(o.b, s.Publications, Publication.appendJSON)
	}
	var out bytes.Buffer
	out.Grow(2 * len(o.b))
	if err := json.Indent(&out, o.close(), "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (c Commit) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("sha", c.SHA, false)
	o.str("branch", c.Branch, true)
	o.str("tag", c.Tag, true)
	o.int("pr", int64(c.PR), true)
	o.str("pr_source", c.PRSource, true)
	o.str("pr_target", c.PRTarget, true)
	o.str("provider", c.Provider, false)
	o.str("build_number", c.BuildNumber, true)
	o.str("build_url", c.BuildURL, true)
	o.str("source_url", c.SourceURL, true)
	o.int("time", c.Time, false)
	return o.close()
}

func (v *Version) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("semver", v.SemVer, false)
	o.str("pep440", v.PEP440, false)
	o.str("debian", v.Debian, false)
	o.str("oci_tag", v.OCITag, false)
	o.str("channel", v.Channel, false)
	o.str("base", v.Base, false)
	o.int("distance", int64(v.Distance), false)
	o.str("source", v.Source, false)
	o.str("rule", v.Rule, false)
	o.int("revision", int64(v.Revision), true)
	return o.close()
}

func (v *Venv) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("deploy_path", v.DeployPath, false)
	o.str("root", v.Root, false)
	o.key("interpreter")
	o.b = v.Interpreter.appendJSON(o.b)
	o.str("builder", v.Builder, false)
	o.key("distributions")
	if v.Distributions == nil {
		o.b = append(o.b, "null"...)
	} else {
		o.b = appendArray(o.b, v.Distributions, Distribution.appendJSON)
	}
	o.int("size", v.Size, false)
	o.int("files", int64(v.Files), false)
	o.str("digest", v.Digest, true)
	if v.Target != nil {
		o.key("target")
		o.b = v.Target.appendJSON(o.b)
	}
	o.strs("depends", v.Depends, true)
	return o.close()
}

func (t *Target) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("distribution", t.Distribution, true)
	o.str("architecture", t.Architecture, true)
	o.str("mirror", t.Mirror, true)
	o.str("key", t.Key, true)
	o.str("image", t.Image, true)
	return o.close()
}

func (i Interpreter) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("path", i.Path, false)
	o.str("executable", i.Executable, false)
	o.str("version", i.Version, false)
	o.str("implementation", i.Implementation, false)
	o.str("package", i.Package, true)
	return o.close()
}

func (d Distribution) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("name", d.Name, false)
	o.str("version", d.Version, false)
	o.str("sha256", d.SHA256, true)
	o.str("license", d.License, true)
	o.bool("project", d.IsProject, true)
	return o.close()
}

func (a Artifact) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("path", a.Path, false)
	o.str("format", string(a.Format), false)
	o.str("sha256", a.SHA256, false)
	o.int("size", a.Size, false)
	o.str("digest", a.Digest, true)
	o.str("arch", a.Arch, true)
	o.str("tarball", a.Tarball, true)
	o.str("sbom", a.SBOM, true)
	return o.close()
}

func (p Publication) appendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("store", p.Store, false)
	o.str("type", p.Type, false)
	o.str("artifact", p.Artifact, false)
	o.str("reference", p.Reference, false)
	o.str("digest", p.Digest, true)
	o.strs("tags", p.Tags, true)
	o.str("install", p.Install, true)
	o.bool("unchanged", p.Unchanged, true)
	return o.close()
}

// object appends one JSON object's members, omitting empty ones where the
// field's tag says omitempty.
type object struct {
	b []byte
	n int
}

func openObject(b []byte) object { return object{b: append(b, '{')} }

func (o *object) key(k string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *object) str(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *object) int(k string, v int64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *object) bool(k string, v, omitEmpty bool) {
	if omitEmpty && !v {
		return
	}
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *object) strs(k string, v []string, omitEmpty bool) {
	if omitEmpty && len(v) == 0 {
		return
	}
	o.key(k)
	if v == nil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = appendArray(o.b, v, func(s string, b []byte) []byte { return appendString(b, s) })
}

func (o *object) close() []byte { return append(o.b, '}') }

func appendArray[T any](b []byte, items []T, appendItem func(T, []byte) []byte) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(it, b)
	}
	return append(b, ']')
}

// appendString quotes s as encoding/json does: printable ASCII as it is, and
// anything it escapes (quotes, backslashes, <, >, &, control characters,
// U+2028, invalid UTF-8) by encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
