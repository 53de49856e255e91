module github.com/secops-go/ms-management-activity

go 1.26

require github.com/go-viper/mapstructure/v2 v2.5.0
