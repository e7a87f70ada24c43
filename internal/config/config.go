// Package config loads .gopythongo.yaml, overrides it with GOPYTHONGO_<SECTION>_<KEY>
// environment variables and flags, and remembers where each value came from.
//
// The Config struct is the single source of truth: its tags give each key's name,
// default, valid choices and documentation, from which the decoder, the environment
// names, --print-config and docs/config.md are all derived.
package config

// Config is the whole configuration of all steps.
type Config struct {
	Schema  int           `yaml:"schema" default:"1" doc:"Format version of this file. Only 1 exists."`
	Project ProjectConfig `yaml:"project" doc:"What is built and where it lives on the target."`
	Version VersionConfig `yaml:"version" doc:"How gopythongo-version computes the version."`
	Test    TestConfig    `yaml:"test" doc:"Test suites run by gopythongo-test."`
	Venv    VenvConfig    `yaml:"venv" doc:"How gopythongo-build-venv builds the virtual environment."`
	Package PackageConfig `yaml:"package" doc:"Artifacts made by gopythongo-package."`
	Publish PublishConfig `yaml:"publish" doc:"Where gopythongo-publish puts the artifacts."`

	// File is the configuration file that was read, "" when there was none.
	File string `yaml:"-"`
	// Dir is the project root: the directory of the file, or the working directory.
	Dir string `yaml:"-"`
	// Origins says where each effective value came from, by dotted key path.
	Origins map[string]Origin `yaml:"-"`
	// Warnings are problems that do not stop a run (a GOPYTHONGO_ variable that
	// names no key, for example).
	Warnings []string `yaml:"-"`
}

// ProjectConfig describes the project.
type ProjectConfig struct {
	Name       string `yaml:"name" doc:"Package and distribution name, e.g. hello. Defaults to [project].name of pyproject.toml."`
	DeployPath string `yaml:"deploy_path" doc:"Absolute path where the virtual environment lives on the target, e.g. /opt/hello. Defaults to /opt/<name>."`
	Python     string `yaml:"python" default:"/usr/bin/python3" doc:"The interpreter on the target and in the builder: a path, or a name looked up on PATH. The default is the target's system interpreter; a .deb or .rpm needs one that a package of the target provides."`
	Dist       string `yaml:"dist" default:"dist" doc:"Directory for the state file, test results and artifacts; what a pipeline hands from stage to stage."`
	SourceURL  string `yaml:"source_url" doc:"Repository URL recorded in packages and image labels. Defaults to what the CI reports."`
}

// VersionConfig configures gopythongo-version.
type VersionConfig struct {
	Source       string         `yaml:"source" default:"git" enum:"git,pyproject,pymodule,searchfile,static,env" doc:"Where the base version comes from: git tags; [project].version of pyproject.toml; __version__ of a Python module (read as text, never imported); the first capture group of pattern in file; value; or the environment variable named by env."`
	Scheme       string         `yaml:"scheme" default:"gitflow" enum:"gitflow,none" doc:"gitflow derives the channel and pre-release from the branch; none takes the source's version as it is."`
	File         string         `yaml:"file" doc:"The file read by the pyproject (default pyproject.toml), pymodule and searchfile sources."`
	Pattern      string         `yaml:"pattern" doc:"For searchfile: a regular expression with exactly one capture group around the version."`
	Value        string         `yaml:"value" doc:"For static: the version."`
	Env          string         `yaml:"env" doc:"For env: the name of the environment variable that holds the version."`
	TagPrefix    string         `yaml:"tag_prefix" doc:"Only tags that start with this prefix are versions (for several projects in one repository, e.g. hello-). A leading v after it is always accepted."`
	TagPattern   string         `yaml:"tag_pattern" doc:"A regular expression with named groups (major, minor, patch, epoch, pre, pre_number, build) to read tags that the built-in parser does not understand."`
	Branches     BranchPatterns `yaml:"branches" doc:"Git Flow branch patterns. A * matches the rest of a name; for release and hotfix it is the version."`
	Initial      string         `yaml:"initial" default:"0.1.0" doc:"The version develop targets before any release exists (0.1.0-dev.N)."`
	MainUntagged string         `yaml:"main_untagged" default:"error" enum:"error,post" doc:"A build of main without a tag on its commit: error stops with an explanation; post makes a post-release X.Y.Z.postN of the newest release."`
	CommitID     bool           `yaml:"commit_id" default:"true" doc:"Add the commit id (+g and 10 hex digits) as build metadata to dev, feature and pull request builds."`
	Dirty        bool           `yaml:"dirty" default:"false" doc:"Allow a work tree with uncommitted changes; its version gets .dirty. Without it a dirty tree is an error."`
	Revision     int            `yaml:"revision" default:"1" doc:"The package revision (Debian -N, PEP 440 .postN-1, OCI _rev.N), unless revision_from finds it."`
	RevisionFrom string         `yaml:"revision_from" doc:"Name of a publish store to ask for the next free package revision of this version. gopythongo-version asks it through gopythongo-publish, which must be installed beside it (the setup action and release archives install all five steps together)."`
	Fetch        bool           `yaml:"fetch" default:"false" doc:"In a shallow clone, deepen the history (doubling) until the version source is reached, instead of stopping with exit code 3."`
	PRTarget     string         `yaml:"pr_target" default:"develop" doc:"The target branch of a pull request when the CI does not name it (CircleCI)."`
}

// BranchPatterns maps Git Flow roles to branch name patterns.
type BranchPatterns struct {
	Main    []string `yaml:"main" default:"main,master" doc:"Release branches: a tag on the commit gives the release."`
	Develop []string `yaml:"develop" default:"develop" doc:"Integration branches: the next minor after the newest release seen, -dev.N."`
	Release []string `yaml:"release" default:"release/*" doc:"Release branches: X.Y.Z-rc.N, N counting the branch's own commits."`
	Hotfix  []string `yaml:"hotfix" default:"hotfix/*" doc:"Hotfix branches: X.Y.Z-rc.N like release branches, forked from main."`
	Feature []string `yaml:"feature" default:"feature/*" doc:"Feature branches: the develop version with -feature.<name>.N."`
	Support []string `yaml:"support" default:"support/*" doc:"Support branches: the next patch after their newest release, -dev.N."`
}

// TestConfig configures gopythongo-test.
type TestConfig struct {
	Suites             map[string]TestSuite `yaml:"suites" doc:"Test suites by name, e.g. unit and integration."`
	Requirements       []string             `yaml:"requirements" doc:"Requirements files of the test venv. Default: the project's [project.optional-dependencies] test extra."`
	Extra              string               `yaml:"extra" default:"test" doc:"The extra of the project that holds its test dependencies."`
	SystemSitePackages bool                 `yaml:"system_site_packages" default:"true" doc:"Let the test venv see the interpreter's site-packages (pytest from the operating system, for example)."`
	Builder            string               `yaml:"builder" default:"host" enum:"host,venv" doc:"Where the suites run: host, this machine's project.python; venv, in venv.builder (a chroot or container) with the test venv made there from the same wheels, so that compiled code is tested as it ships."`
}

// TestSuite is one named test suite.
type TestSuite struct {
	Runner     string            `yaml:"runner" default:"pytest" enum:"pytest,unittest,custom" doc:"pytest, unittest, or custom (argv)."`
	Paths      []string          `yaml:"paths" doc:"Test files or directories, relative to the project root."`
	Markers    string            `yaml:"markers" doc:"For pytest: a marker expression (pytest -m), e.g. 'not slow'."`
	Pattern    string            `yaml:"pattern" default:"test*.py" doc:"For unittest: the file pattern of test modules."`
	Argv       []string          `yaml:"argv" doc:"For custom: the command, an argv list; it may write JUnit XML to $GOPYTHONGO_JUNIT_XML. For pytest and unittest: extra arguments."`
	AllowEmpty bool              `yaml:"allow_empty" default:"false" doc:"Let the suite pass when it runs no test."`
	Env        map[string]string `yaml:"env" doc:"Environment variables for the suite."`
}

// VenvConfig configures gopythongo-build-venv.
type VenvConfig struct {
	Builder            string            `yaml:"builder" default:"host" enum:"host,chroot,container" doc:"Where the venv is built: host (a private mount namespace on this machine), chroot or container."`
	Requirements       []string          `yaml:"requirements" doc:"Requirements files to install. When any requirement carries a --hash, every one must (pip's hash-checking mode), and the project's own dependencies must be among them."`
	Packages           []string          `yaml:"packages" doc:"Requirement specifiers to install besides the project, e.g. gunicorn==22.0.0."`
	Constraints        []string          `yaml:"constraints" doc:"Constraints files (pip -c)."`
	Lock               string            `yaml:"lock" doc:"A lock file to install exactly: uv.lock, pylock.toml (PEP 751), poetry.lock, or a requirements file pinned with --hash (pip-compile --generate-hashes). The distributions it pins for the target's markers and the extras are installed, each wheel chosen by the target's tags and every file checked against its hash; nothing is resolved, and a lock stale against pyproject.toml is an error naming the package. Excludes requirements, packages and constraints."`
	Resolver           string            `yaml:"resolver" default:"native" enum:"native,pip,uv" doc:"What resolves the requirements when there is no lock: native (GoPythonGo itself, from the wheels of local find_links with no_index, as pip would, and pip wherever it cannot be sure of pip's answer: a conflict, a pre-release, an sdist, an index, a URL, hashes or constraints; the resolve line says which and why), pip (pip wheel) or uv (uv pip compile for the target interpreter, then installed as a lock with every hash checked). uv must be on PATH or named by venv.uv."`
	UV                 string            `yaml:"uv" default:"uv" doc:"The uv executable for resolver: uv and installer: uv, a path or a name looked up on PATH."`
	Extras             []string          `yaml:"extras" doc:"Extras of the project to install, e.g. [postgres]."`
	Project            bool              `yaml:"project" default:"true" doc:"Build the project itself into a wheel (PEP 517) and install it."`
	SetVersion         bool              `yaml:"set_version" default:"true" doc:"Build the project with the version of the state file (PEP 440): written into [project] version of pyproject.toml in the build's copy of the source, or given as SETUPTOOLS_SCM_PRETEND_VERSION when the version is dynamic. The built wheel must carry it. false builds the version the source declares."`
	Dists              bool              `yaml:"dists" default:"false" doc:"Also write the project's wheel and sdist to dist/python/ as artifacts, for the pypi and pypi-dir stores (gopythongo-build-venv --dist-only makes only these)."`
	FindLinks          []string          `yaml:"find_links" doc:"Directories or URLs with wheels (pip --find-links), relative to the project root."`
	NoIndex            bool              `yaml:"no_index" default:"false" doc:"Do not use any package index; only find_links and the wheel cache."`
	IndexURL           string            `yaml:"index_url" secret:"url" doc:"The package index URL. Credentials come from the environment: write ${VAR} in the URL, e.g. https://${PYPI_USER}:${PYPI_TOKEN}@pypi.example.com/simple."`
	ExtraIndexURLs     []string          `yaml:"extra_index_urls" secret:"url" doc:"Further package index URLs, with ${VAR} for credentials as in index_url."`
	TrustedHosts       []string          `yaml:"trusted_hosts" doc:"Hosts whose TLS certificate is not verified. Name each host explicitly."`
	BuildIsolation     bool              `yaml:"build_isolation" default:"true" doc:"Build the project and sdists in isolated environments with their declared build dependencies (PEP 517). false builds with what the interpreter has (faster, and offline without setuptools wheels)."`
	NoBuild            bool              `yaml:"no_build" default:"false" doc:"Install wheels only: an sdist among the requirements is an error (pip --only-binary :all:). The project itself is still built."`
	CacheDir           string            `yaml:"cache_dir" doc:"The content-addressed cache that CI can persist: wheels, bytecode, roots, and the listings of base image layers the OCI image check reads. Default: $XDG_CACHE_HOME/gopythongo or ~/.cache/gopythongo."`
	Installer          string            `yaml:"installer" default:"native" enum:"native,pip,uv" doc:"What puts the wheels into the venv: native unpacks them in Go as the wheel format says (the tree pip would make, checked against pip by the tests on 215 real wheels, many times faster); pip runs pip install; uv runs uv pip install. Each installs exactly the resolved wheels, checked first."`
	Pip                bool              `yaml:"pip" default:"false" doc:"Keep pip in the built venv. By default the venv is made with --without-pip: it costs seconds and is not wanted in production."`
	PipWheel           string            `yaml:"pip_wheel" doc:"The pip wheel to run pip from. Default: pip of the interpreter, else the newest /usr/share/python-wheels/pip-*.whl."`
	StripDebug         bool              `yaml:"strip_debug" default:"true" doc:"Strip debug symbols from compiled code built for the venv, as dh_strip does (strip --strip-unneeded, run in the build system, which needs binutils): smaller packages, lintian-clean. False keeps them."`
	Compile            bool              `yaml:"compile" default:"true" doc:"Compile bytecode with the target interpreter, with invalidation mode unchecked-hash so that it is reproducible."`
	Strip              []string          `yaml:"strip" doc:"Globs of files and directories to leave out, relative to the deploy path (** matches any depth), e.g. '**/tests', '**/*.h'."`
	SystemSitePackages bool              `yaml:"system_site_packages" default:"false" doc:"Let the venv see the interpreter's own site-packages."`
	PostBuild          [][]string        `yaml:"post_build" doc:"Commands run after the install, each an argv given to the venv's interpreter in the target environment, e.g. [[-m, django, collectstatic, --noinput]]. Never a shell string. They run in the deploy path with the checkout read-only and off sys.path, so what they make lands in the venv."`
	PostBuildDir       string            `yaml:"post_build_dir" doc:"Where post_build commands run, relative to the deploy path (default: the deploy path itself)."`
	ExtraFiles         []ExtraFile       `yaml:"extra_files" doc:"Files copied into the venv after the install."`
	Env                map[string]string `yaml:"env" doc:"Environment variables for builds and post_build commands, e.g. DJANGO_SETTINGS_MODULE."`
	WheelLimits        WheelLimits       `yaml:"wheel_limits" doc:"Bounds on what unpacking one wheel may cost; a wheel past them is refused before anything of it is installed."`
	Chroot             ChrootConfig      `yaml:"chroot" doc:"The chroot builder: a Debian or Ubuntu root, made once and cached."`
	Container          ContainerConfig   `yaml:"container" doc:"The container builder: a build image run with docker or podman."`
}

// WheelLimits bound the unpacking of one wheel, for both installers.
type WheelLimits struct {
	MaxEntrySize string `yaml:"max_entry_size" default:"4GiB" doc:"The largest file one wheel may unpack, in bytes or with a unit (KiB, MiB, GiB, KB, MB, GB)."`
	MaxSize      string `yaml:"max_size" default:"16GiB" doc:"The most all files of one wheel may unpack to together."`
	MaxRatio     int    `yaml:"max_ratio" default:"200" doc:"The highest compression ratio (unpacked : packed) of a file of 16 MiB or more, and of a whole wheel of 16 MiB or more: a higher one is a compression bomb."`
}

// ChrootConfig configures the root the chroot builder builds in.
type ChrootConfig struct {
	Distribution   string     `yaml:"distribution" default:"bookworm" doc:"The suite to bootstrap, e.g. bookworm or noble."`
	Architecture   string     `yaml:"architecture" doc:"The Debian architecture of the root. Default: this machine's."`
	Mirror         string     `yaml:"mirror" default:"http://deb.debian.org/debian" doc:"The mirror to bootstrap from (http://archive.ubuntu.com/ubuntu for Ubuntu)."`
	Variant        string     `yaml:"variant" default:"minbase" enum:"minbase,buildd,required,important,standard" doc:"The bootstrap variant."`
	Install        []string   `yaml:"install" default:"python3,python3-venv" doc:"Packages in the root: the interpreter and build dependencies, e.g. python3-dev, gcc, libpq-dev."`
	RunAfterCreate [][]string `yaml:"run_after_create" doc:"Commands run inside the root once when it is made, each an argv, e.g. [[update-ca-certificates]]."`
	CacheDir       string     `yaml:"cache_dir" doc:"Where roots are cached as tarballs keyed by their inputs. Default: roots/ in venv.cache_dir."`
	Update         bool       `yaml:"update" default:"false" doc:"Make the root again even when a cached one exists (new packages from the mirror)."`
}

// ContainerConfig configures the container builder.
type ContainerConfig struct {
	Command    string   `yaml:"command" doc:"The docker-compatible command line: docker or podman. Default: docker when on PATH, else podman."`
	Image      string   `yaml:"image" doc:"The build image, with the target's interpreter at project.python."`
	Dockerfile string   `yaml:"dockerfile" doc:"A Dockerfile to build the build image from instead, relative to the project root."`
	Context    string   `yaml:"context" default:"." doc:"The build context of the Dockerfile, relative to the project root."`
	Network    string   `yaml:"network" doc:"The build container's network: none for builds from find_links and the wheel cache alone, host, or a named network. Default: the command's default."`
	GlobalArgs []string `yaml:"global_args" doc:"Arguments before the subcommand, e.g. [--root, /var/lib/ci-podman, --runtime, runc]."`
	BuildArgs  []string `yaml:"build_args" doc:"Further arguments of build, for the Dockerfile's image, e.g. [--pull=never, --build-arg, PYTHON=3.11]."`
	RunArgs    []string `yaml:"run_args" doc:"Further arguments of run, e.g. [--ulimit, nofile=1024:1024]."`
}

// ExtraFile is a file copied into the built venv.
type ExtraFile struct {
	Src  string `yaml:"src" doc:"The file or directory, relative to the project root."`
	Dst  string `yaml:"dst" doc:"Where it goes, relative to the deploy path, e.g. etc/app.ini."`
	Mode string `yaml:"mode" doc:"Octal file mode, e.g. 0640; default: that of the source."`
}

// PackageConfig configures gopythongo-package.
type PackageConfig struct {
	Formats      []string      `yaml:"formats" default:"deb" enum:"deb,rpm,tar.gz,tar.zst,tar.xz,oci" doc:"Artifacts to make; one run may make several."`
	Name         string        `yaml:"name" doc:"The package name. Default: project.name, lowercased, with _ as -."`
	Description  string        `yaml:"description" doc:"A one-line description. Default: the project's Summary."`
	Homepage     string        `yaml:"homepage" doc:"The project's home page. Default: the project's Home-page or project.source_url."`
	License      string        `yaml:"license" doc:"The licence, as an SPDX identifier (MIT, Apache-2.0). Default: the project's licence."`
	LicenseFile  string        `yaml:"license_file" doc:"A file with the licence's full text, for licences Debian does not ship in /usr/share/common-licenses."`
	Copyright    string        `yaml:"copyright" doc:"The copyright line, e.g. '2024 Hello Team'. Default: the maintainer."`
	Architecture string        `yaml:"architecture" doc:"Override the architecture. Default: this machine's when the tree holds any ELF file, else all."`
	Deb          DebConfig     `yaml:"deb" doc:"Debian package settings."`
	RPM          RPMConfig     `yaml:"rpm" doc:"RPM package settings."`
	OCI          OCIConfig     `yaml:"oci" doc:"OCI image settings."`
	Service      ServiceConfig `yaml:"service" doc:"A systemd service, installed and managed by the .deb and .rpm."`
}

// DebConfig holds Debian package metadata.
type DebConfig struct {
	Maintainer       string            `yaml:"maintainer" doc:"Maintainer field, e.g. Hello Team <hello@example.com>. Required for .deb."`
	Section          string            `yaml:"section" default:"misc" doc:"Section field."`
	Priority         string            `yaml:"priority" default:"optional" doc:"Priority field."`
	Depends          []string          `yaml:"depends" doc:"Further Depends, e.g. libpq5. The interpreter's package (python3.11) is added."`
	PythonPackage    string            `yaml:"python_package" doc:"The package that provides project.python on the target, when dpkg on the build system cannot tell (an interpreter built into /opt, say). Without it, an interpreter of no package is an error for .deb."`
	PreDepends       []string          `yaml:"pre_depends" doc:"Pre-Depends."`
	Recommends       []string          `yaml:"recommends" doc:"Recommends."`
	Suggests         []string          `yaml:"suggests" doc:"Suggests."`
	Conflicts        []string          `yaml:"conflicts" doc:"Conflicts."`
	Replaces         []string          `yaml:"replaces" doc:"Replaces."`
	Provides         []string          `yaml:"provides" doc:"Provides."`
	Conffiles        []string          `yaml:"conffiles" doc:"Files of the package that are configuration, kept on upgrade, as absolute paths on the target (/opt/hello/etc/app.ini)."`
	Scripts          map[string]string `yaml:"scripts" doc:"Maintainer scripts from files: preinst, postinst, prerm, postrm. With a service, they run after the generated part."`
	Compression      string            `yaml:"compression" default:"gzip" enum:"gzip,xz,zstd,none" doc:"Compression of data.tar: gzip (parallel, deterministic), xz, zstd or none."`
	MD5Sums          bool              `yaml:"md5sums" default:"true" doc:"Write DEBIAN/md5sums (for debsums and dpkg --verify). The sums gopythongo-build-venv recorded (dist/root.md5sums) are taken for files unchanged since; any other file is read and hashed, about a CPU second per 500 MB, which dpkg-deb alone does not spend."`
	LintianOverrides []string          `yaml:"lintian_overrides" doc:"Further lintian tags to override, e.g. 'embedded-javascript-library'. The tags every venv raises are overridden already."`
	Distribution     string            `yaml:"distribution" default:"unstable" doc:"The distribution named in the generated changelog."`
}

// RPMConfig holds RPM settings.
type RPMConfig struct {
	Group         string   `yaml:"group" doc:"Group tag."`
	Vendor        string   `yaml:"vendor" doc:"Vendor tag."`
	Requires      []string `yaml:"requires" doc:"Requires (RPM names differ from Debian's), e.g. python3."`
	PythonPackage string   `yaml:"python_package" doc:"The RPM package that provides project.python on the target, added to Requires. Without it, an interpreter of no package of the build system is an error for .rpm."`
	Compression   string   `yaml:"compression" default:"gzip" enum:"gzip,xz,zstd,none" doc:"Payload compression."`
}

// OCIConfig holds image settings.
type OCIConfig struct {
	Base       string            `yaml:"base" doc:"Base image, required for oci: a registry reference (debian:bookworm-slim), oci-layout:DIR[:TAG], the path of a tarball (docker save format), or scratch. It must hold the interpreter the venv links to; the step checks."`
	Entrypoint []string          `yaml:"entrypoint" doc:"Image entrypoint, an argv list. Default: the project's console script; required when it has several."`
	Cmd        []string          `yaml:"cmd" doc:"Image cmd, an argv list."`
	Env        map[string]string `yaml:"env" doc:"Further environment. PATH (the venv's bin first) and VIRTUAL_ENV are set."`
	User       string            `yaml:"user" doc:"The user the image runs as, e.g. 1000:1000."`
	Workdir    string            `yaml:"workdir" doc:"The working directory."`
	Ports      []string          `yaml:"ports" doc:"Exposed ports, e.g. 8000/tcp."`
	Labels     map[string]string `yaml:"labels" doc:"Further labels; org.opencontainers.image.version, revision, source and created are set."`
	Tarball    bool              `yaml:"tarball" default:"false" doc:"Also write a tarball that docker load and podman load accept."`
}

// ServiceConfig describes a systemd service of the package.
type ServiceConfig struct {
	Name             string            `yaml:"name" doc:"The unit's name without .service. Default: the package name. Setting exec or unit enables the service."`
	Unit             string            `yaml:"unit" doc:"A unit file of the project to install instead of the generated one."`
	Exec             []string          `yaml:"exec" doc:"The command the generated unit runs, an argv list, e.g. [/opt/hello/bin/hello, serve]."`
	Description      string            `yaml:"description" doc:"The unit's Description. Default: the package's."`
	User             string            `yaml:"user" doc:"The user the service runs as."`
	Group            string            `yaml:"group" doc:"Its group. Default: the user's name."`
	CreateUser       bool              `yaml:"create_user" default:"false" doc:"Create the user and group as system accounts on install (idempotent)."`
	Environment      map[string]string `yaml:"environment" doc:"Environment of the service."`
	WorkingDirectory string            `yaml:"working_directory" doc:"The service's working directory."`
	Enable           bool              `yaml:"enable" default:"true" doc:"Enable the unit on install."`
	Start            bool              `yaml:"start" default:"true" doc:"Start it on install and restart it on upgrade, where systemd runs."`
}

// PublishConfig configures gopythongo-publish.
type PublishConfig struct {
	Stores []StoreConfig `yaml:"stores" doc:"Stores to publish to, each with a name and a type."`
}

// StoreConfig is one publish store. Which keys apply depends on the type. No
// secret is ever written here: keys ending in _env name environment variables,
// keys ending in _file name files.
type StoreConfig struct {
	Name               string   `yaml:"name" doc:"The store's name, used by --store and version.revision_from."`
	Type               string   `yaml:"type" enum:"apt-dir,aptly,registry,oci-dir,pypi,pypi-dir" doc:"The kind of store."`
	Path               string   `yaml:"path" doc:"apt-dir, oci-dir, pypi-dir: the directory."`
	Distribution       string   `yaml:"distribution" default:"stable" doc:"apt-dir, aptly: the distribution, e.g. bookworm."`
	Component          string   `yaml:"component" default:"main" doc:"apt-dir, aptly: the component."`
	Architectures      []string `yaml:"architectures" default:"amd64,arm64,all" doc:"apt-dir, aptly: the architectures the repository offers; packages for all go into each."`
	Origin             string   `yaml:"origin" doc:"apt-dir: the Origin and Label of the Release file. Default: the project's name."`
	SigningKeyFile     string   `yaml:"signing_key_file" doc:"apt-dir: an armored OpenPGP private key to sign the Release file with (InRelease, Release.gpg)."`
	SigningKeyEnv      string   `yaml:"signing_key_env" doc:"apt-dir: an environment variable holding that key instead."`
	SigningKeyFileEnv  string   `yaml:"signing_key_file_env" doc:"apt-dir: an environment variable holding the path of the key file (Jenkins file credentials, CI secret files)."`
	PassphraseEnv      string   `yaml:"passphrase_env" doc:"apt-dir, aptly: the variable holding the signing key's passphrase."`
	PassphraseFile     string   `yaml:"passphrase_file" doc:"aptly: a passphrase file on the aptly server (PassphraseFile)."`
	GPGKey             string   `yaml:"gpg_key" doc:"aptly: the key id aptly signs with; empty publishes unsigned."`
	Keyring            string   `yaml:"keyring" doc:"aptly: the public keyring file on the server."`
	SecretKeyring      string   `yaml:"secret_keyring" doc:"aptly: the secret keyring file on the server."`
	URL                string   `yaml:"url" doc:"aptly: the API URL (http://aptly.example.com:8080); pypi: the upload URL (https://upload.pypi.org/legacy/)."`
	IndexURL           string   `yaml:"index_url" doc:"pypi: the simple index to ask what exists (https://pypi.org/simple/)."`
	Repo               string   `yaml:"repo" doc:"aptly: the local repository to add to. Default: the distribution."`
	Prefix             string   `yaml:"prefix" default:"." doc:"aptly: the publish prefix, with an endpoint where aptly has one (s3:bucket:prefix)."`
	Repository         string   `yaml:"repository" doc:"registry: the image repository, e.g. registry.example.com/hello."`
	Tags               []string `yaml:"tags" default:"version,latest,minor,major,channel" enum:"version,latest,minor,major,channel" doc:"registry, oci-dir: which tags to set: the version's OCI rendering; latest, X.Y and X for releases; the channel (develop, rc) for other builds."`
	Username           string   `yaml:"username" doc:"aptly, registry, pypi: the user for basic auth (pypi: __token__ by default)."`
	UsernameEnv        string   `yaml:"username_env" doc:"registry, aptly: a variable holding the user instead."`
	PasswordEnv        string   `yaml:"password_env" doc:"aptly, registry, pypi: the variable holding the password or token."`
	CAFile             string   `yaml:"ca_file" doc:"A file of certificate authorities for the store's TLS."`
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify" default:"false" doc:"Skip TLS verification for this store's host only. Avoid."`
	Timeout            string   `yaml:"timeout" default:"60s" doc:"The time one request may take."`
	Retries            int      `yaml:"retries" default:"4" doc:"How often a failed request is tried again (connection errors, 429, 5xx)."`
}
