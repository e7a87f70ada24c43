package python

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	kflate "github.com/klauspost/compress/flate"
)

// WheelLimits bound what unpacking one wheel may cost. The defaults pass every
// real wheel (torch's largest member is about 1.5 GiB, its whole wheel 4 GiB
// unpacked; text compresses about 5:1, rarely past 30:1) and stop a bomb long
// before it fills a CI runner's disk.
type WheelLimits struct {
	MaxEntrySize int64 // uncompressed bytes of one member
	MaxSize      int64 // uncompressed bytes of all members together
	MaxRatio     int64 // uncompressed : compressed, of a member of 16 MiB or more and of the whole wheel
}

// DefaultWheelLimits are the limits unless venv.wheel_limits says otherwise.
func DefaultWheelLimits() WheelLimits {
	return WheelLimits{MaxEntrySize: 4 << 30, MaxSize: 16 << 30, MaxRatio: 200}
}

// ratioFloor is the size below which a member's ratio is not checked: a small
// file of zeros is no bomb, and real wheels hold such files (pillow 13's
// libXau, 9 KiB packed to 2 MiB of page padding, 223 times).
const ratioFloor = 16 << 20

// maxMetadataFile bounds the metadata files read whole (WHEEL, RECORD,
// METADATA, entry_points.txt).
const maxMetadataFile = 64 << 20

// RecordEntry is a line of a RECORD file (PEP 376): path, hash, size.
type RecordEntry struct {
	Path string
	Hash string // algorithm=urlsafe-base64-digest, "" for none
	Size int64  // -1 when not given
}

// ParseRecord reads a RECORD file, which is CSV as Python's csv module writes it.
func ParseRecord(data []byte) ([]RecordEntry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var out []RecordEntry
	for {
		fields, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("RECORD is not valid CSV: %w", err)
		}
		if len(fields) == 0 || len(fields) > 3 || fields[0] == "" {
			return nil, fmt.Errorf("RECORD line %q is not path,hash,size", strings.Join(fields, ","))
		}
		e := RecordEntry{Path: fields[0], Size: -1}
		if len(fields) > 1 {
			e.Hash = fields[1]
		}
		if len(fields) > 2 && fields[2] != "" {
			n, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("RECORD: %s has the size %q, which is no number", e.Path, fields[2])
			}
			e.Size = n
		}
		out = append(out, e)
	}
}

// FormatRecord writes a RECORD as Python's csv module and pip do: CRLF line
// ends, quoted fields where needed, an entry without a hash as "path,,".
func FormatRecord(entries []RecordEntry) []byte {
	var out bytes.Buffer
	for _, e := range entries {
		if e.Hash == "" {
			fmt.Fprintf(&out, "%s,,\r\n", csvField(e.Path))
		} else {
			fmt.Fprintf(&out, "%s,%s,%d\r\n", csvField(e.Path), e.Hash, e.Size)
		}
	}
	return out.Bytes()
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// recordHashes are the algorithms a RECORD hash may use; weaker ones (md5,
// sha1, sha224) are refused as PEP 376 and pip's hash checking do.
var recordHashes = map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}

// parseHash splits algorithm=digest and checks the digest's length.
func parseRecordHash(s string) (func() hash.Hash, []byte, error) {
	algo, enc, ok := strings.Cut(s, "=")
	newHash, known := recordHashes[algo]
	if !ok || !known {
		return nil, nil, fmt.Errorf("the hash %q uses no accepted algorithm (sha256, sha384 or sha512)", s)
	}
	sum, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil || len(sum) != newHash().Size() {
		return nil, nil, fmt.Errorf("the hash %q is not a %s digest in urlsafe base64", s, algo)
	}
	return newHash, sum, nil
}

// RecordHash is the RECORD hash of data as pip writes it: sha256, unpadded.
func RecordHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// WheelArchive is a wheel whose structure was checked when it was opened: every
// member has a safe name, is listed in RECORD with an accepted hash and its
// size, and the sizes are within the limits. Reading a member through Open
// checks its content against RECORD.
type WheelArchive struct {
	Wheel
	// InfoDir and DataDir are the wheel's .dist-info and .data directories
	// ("" when there is no .data).
	InfoDir, DataDir string
	// Members are the regular files, in archive order, but RECORD and its
	// signatures (which RECORD cannot list).
	Members []*zip.File
	// PureLib is WHEEL's Root-Is-Purelib.
	PureLib bool
	record  map[string]RecordEntry
	byName  map[string]*zip.File
	zr      *zip.ReadCloser
}

// WheelError is a wheel refused before anything of it was installed.
type WheelError struct {
	File   string // the wheel's file name
	Member string // the archive member, "" for the whole wheel
	Reason string
}

func (e *WheelError) Error() string {
	if e.Member == "" {
		return fmt.Sprintf("wheel %s is refused: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("wheel %s is refused: %s %s", e.File, e.Member, e.Reason)
}

// OpenWheel opens a wheel file and checks everything that can be checked
// without reading the members' contents.
func OpenWheel(file string, lim WheelLimits) (*WheelArchive, error) {
	w, err := ParseWheelName(file)
	if err != nil {
		return nil, err
	}
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, &WheelError{File: w.File, Reason: fmt.Sprintf("it is not a readable zip archive (%v)", err)}
	}
	// klauspost's inflater is a tenth faster than compress/flate's; zip
	// still checks every member's CRC-32.
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return kflate.NewReader(r) })
	a := &WheelArchive{Wheel: w, zr: zr, byName: map[string]*zip.File{}}
	if err := a.check(lim); err != nil {
		zr.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the wheel file.
func (a *WheelArchive) Close() error { return a.zr.Close() }

func (a *WheelArchive) refuse(member, format string, args ...any) error {
	return &WheelError{File: a.File, Member: member, Reason: fmt.Sprintf(format, args...)}
}

// checkMemberName refuses names that are absolute, climb with .., hold empty
// or . components, control characters or invalid UTF-8.
func checkMemberName(name string) error {
	dir := strings.TrimSuffix(name, "/")
	if dir == "" || strings.HasPrefix(name, "/") || !utf8.ValidString(name) {
		return errors.New("has an absolute or empty name")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("has a control character in its name")
		}
	}
	for _, p := range strings.Split(dir, "/") {
		if p == "" || p == "." || p == ".." {
			return errors.New("has a name with an empty, . or .. component, which could climb out of the venv")
		}
	}
	return nil
}

func (a *WheelArchive) check(lim WheelLimits) error {
	var total, compressed uint64
	var infoDirs []string
	for _, f := range a.zr.File {
		if err := checkMemberName(f.Name); err != nil {
			return a.refuse(f.Name, "%v", err)
		}
		if _, dup := a.byName[f.Name]; dup {
			return a.refuse(f.Name, "is in the archive twice (a later copy could replace a checked one)")
		}
		a.byName[f.Name] = f
		mode := f.Mode()
		if strings.HasSuffix(f.Name, "/") || mode.IsDir() {
			continue
		}
		if mode&fs.ModeSymlink != 0 {
			return a.refuse(f.Name, "is a symbolic link; wheels hold regular files only")
		}
		if !mode.IsRegular() {
			return a.refuse(f.Name, "is not a regular file (mode %v)", mode)
		}
		if int64(f.UncompressedSize64) < 0 || int64(f.UncompressedSize64) > lim.MaxEntrySize {
			return a.refuse(f.Name, "unpacks to %d bytes, more than venv.wheel_limits.max_entry_size (%d); raise it if the wheel is genuine", f.UncompressedSize64, lim.MaxEntrySize)
		}
		if f.UncompressedSize64 >= ratioFloor && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(lim.MaxRatio) {
			return a.refuse(f.Name, "expands %d times (%d to %d bytes), more than venv.wheel_limits.max_ratio (%d): a compression bomb, or raise the limit", f.UncompressedSize64/max(f.CompressedSize64, 1), f.CompressedSize64, f.UncompressedSize64, lim.MaxRatio)
		}
		total += f.UncompressedSize64
		compressed += f.CompressedSize64
		if total > uint64(lim.MaxSize) {
			return a.refuse("", "unpacks to more than venv.wheel_limits.max_size (%d bytes); raise it if the wheel is genuine", lim.MaxSize)
		}
		top, _, _ := strings.Cut(f.Name, "/")
		if stem, ok := strings.CutSuffix(top, ".dist-info"); ok && sameDist(stem, a.Wheel) && !slices.Contains(infoDirs, top) {
			infoDirs = append(infoDirs, top)
		} else if stem, ok := strings.CutSuffix(top, ".data"); ok && sameDist(stem, a.Wheel) {
			a.DataDir = top
		}
	}
	if total >= ratioFloor && total/max(compressed, 1) > uint64(lim.MaxRatio) {
		return a.refuse("", "expands %d times as a whole, more than venv.wheel_limits.max_ratio (%d): a compression bomb, or raise the limit", total/max(compressed, 1), lim.MaxRatio)
	}
	if len(infoDirs) != 1 {
		return a.refuse("", "it has %d %s-%s.dist-info directories; a wheel has exactly one", len(infoDirs), a.Name, a.Version)
	}
	a.InfoDir = infoDirs[0]
	wheelMeta, err := a.readWhole(a.InfoDir + "/WHEEL")
	if err != nil {
		return err
	}
	if v := headerField(wheelMeta, "Wheel-Version"); !strings.HasPrefix(v, "1.") {
		return a.refuse(a.InfoDir+"/WHEEL", "says Wheel-Version %q; this GoPythonGo installs 1.x", v)
	}
	a.PureLib = strings.EqualFold(headerField(wheelMeta, "Root-Is-Purelib"), "true")
	recordName := a.InfoDir + "/RECORD"
	data, err := a.readWhole(recordName)
	if err != nil {
		return err
	}
	entries, err := ParseRecord(data)
	if err != nil {
		return a.refuse(recordName, "cannot be read: %v", err)
	}
	a.record = map[string]RecordEntry{}
	for _, e := range entries {
		a.record[e.Path] = e
	}
	for _, f := range a.zr.File {
		if strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			continue
		}
		switch f.Name {
		case recordName, recordName + ".jws", recordName + ".p7s":
			continue
		}
		e, listed := a.record[f.Name]
		switch {
		case !listed:
			return a.refuse(f.Name, "is not listed in RECORD, so nothing vouches for its content")
		case e.Hash == "":
			return a.refuse(f.Name, "has no hash in RECORD")
		case e.Size >= 0 && uint64(e.Size) != f.UncompressedSize64:
			return a.refuse(f.Name, "is %d bytes, but RECORD says %d", f.UncompressedSize64, e.Size)
		}
		if _, _, err := parseRecordHash(e.Hash); err != nil {
			return a.refuse(f.Name, "has an unusable RECORD hash: %v", err)
		}
		a.Members = append(a.Members, f)
	}
	return nil
}

// sameDist compares the name-version prefix of a wheel's directories with its
// file name, normalized.
func sameDist(prefix string, w Wheel) bool {
	name, ver, ok := strings.Cut(prefix, "-")
	return ok && Normalize(name) == Normalize(w.Name) && ver == w.Version
}

// readWhole reads a small metadata member, bounded.
func (a *WheelArchive) readWhole(name string) ([]byte, error) {
	f := a.byName[name]
	if f == nil {
		return nil, a.refuse(name, "is missing")
	}
	if f.UncompressedSize64 > maxMetadataFile {
		return nil, a.refuse(name, "is %d bytes, more than a metadata file may be (%d)", f.UncompressedSize64, maxMetadataFile)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, a.refuse(name, "cannot be read: %v", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMetadataFile+1))
	if err != nil {
		return nil, a.refuse(name, "cannot be read: %v", err)
	}
	return data, nil
}

// ReadFile reads a member of at most 64 MiB whole, checked against RECORD.
func (a *WheelArchive) ReadFile(name string) ([]byte, error) {
	f := a.byName[name]
	if f == nil {
		return nil, fs.ErrNotExist
	}
	if f.UncompressedSize64 > maxMetadataFile {
		return nil, a.refuse(name, "is %d bytes, more than a metadata file may be (%d)", f.UncompressedSize64, maxMetadataFile)
	}
	rc, err := a.Open(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Open streams a member; the read that reaches its end fails unless the
// content has the hash and size RECORD gives.
func (a *WheelArchive) Open(f *zip.File) (io.ReadCloser, error) {
	e, ok := a.record[f.Name]
	if !ok {
		return nil, a.refuse(f.Name, "is not listed in RECORD")
	}
	newHash, want, err := parseRecordHash(e.Hash)
	if err != nil {
		return nil, a.refuse(f.Name, "has an unusable RECORD hash: %v", err)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, a.refuse(f.Name, "cannot be read: %v", err)
	}
	return &verifyingReader{a: a, name: f.Name, rc: rc, h: newHash(), want: want, size: f.UncompressedSize64}, nil
}

// RecordedHash is a member's hash as RECORD gives it (algorithm=digest), and
// its sha256 when that is the algorithm. Reading the member through Open to
// its end proves its bytes have it, so an installer that writes the member
// unaltered records it as it is, as pip does, without hashing it again.
func (a *WheelArchive) RecordedHash(f *zip.File) (hash string, sha256Sum []byte) {
	hash = a.record[f.Name].Hash
	if strings.HasPrefix(hash, "sha256=") {
		if _, sum, err := parseRecordHash(hash); err == nil {
			sha256Sum = sum
		}
	}
	return hash, sha256Sum
}

// Verify reads every member and checks it against RECORD: what the pip
// installer needs before it hands the wheel to pip.
func (a *WheelArchive) Verify() error {
	buf := make([]byte, 256<<10)
	for _, f := range a.Members {
		rc, err := a.Open(f)
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(io.Discard, rc, buf)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

type verifyingReader struct {
	a    *WheelArchive
	name string
	rc   io.ReadCloser
	h    hash.Hash
	want []byte
	size uint64
	n    uint64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += uint64(n)
	if v.n > v.size {
		return n, v.a.refuse(v.name, "holds more bytes than its header declares")
	}
	if err == io.EOF {
		if v.n != v.size {
			return n, v.a.refuse(v.name, "holds %d bytes, not the %d its header declares", v.n, v.size)
		}
		if !bytes.Equal(v.h.Sum(nil), v.want) {
			return n, v.a.refuse(v.name, "does not match its RECORD hash: the wheel is corrupt or was altered")
		}
	} else if err != nil {
		return n, v.a.refuse(v.name, "cannot be read: %v", err)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// headerField reads a field of an RFC 822 style metadata file (WHEEL).
func headerField(meta []byte, name string) string {
	for _, line := range strings.Split(string(meta), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// EntryPoint is a console or GUI script of entry_points.txt.
type EntryPoint struct {
	Group  string // console_scripts or gui_scripts
	Name   string // the script's name
	Module string
	Attr   string // the object in the module, dotted
}

// ParseEntryPoints reads the scripts of an entry_points.txt (an INI file:
// sections, comments with # or ;, name = module:attr [extras]).
func ParseEntryPoints(data []byte) ([]EntryPoint, error) {
	var out []EntryPoint
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxMetadataFile)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasPrefix(line, "["):
			section = strings.TrimSpace(strings.Trim(line, "[]"))
		case section == "console_scripts" || section == "gui_scripts":
			name, target, ok := strings.Cut(line, "=")
			name, target = strings.TrimSpace(name), strings.TrimSpace(target)
			target, _, _ = strings.Cut(target, "[") // extras do not change the script
			module, attr, hasAttr := strings.Cut(strings.TrimSpace(target), ":")
			module, attr = strings.TrimSpace(module), strings.TrimSpace(attr)
			if !ok || !hasAttr || name == "" || module == "" || attr == "" || !validScriptName(name) || !validDotted(module) || !validDotted(attr) {
				return nil, fmt.Errorf("entry_points.txt: %q is not name = module:object", line)
			}
			out = append(out, EntryPoint{Group: section, Name: name, Module: module, Attr: attr})
		}
	}
	return out, sc.Err()
}

// validScriptName refuses script names that are paths or hold control
// characters: a script lands in bin/ under that name.
func validScriptName(s string) bool {
	if s == "." || s == ".." || strings.ContainsAny(s, "/\\") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// validDotted accepts Python dotted names: the script template imports them.
func validDotted(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}
