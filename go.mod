module github.com/secops-go/ms-management-activity

go 1.26.0

require (
	github.com/go-viper/mapstructure/v2 v2.5.0
	golang.org/x/time v0.16.0
)
