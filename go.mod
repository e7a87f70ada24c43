module github.com/gopythongo/gopythongo

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/sethvargo/go-githubactions v1.4.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/sys v0.50.0
	gopkg.in/yaml.v3 v3.0.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
