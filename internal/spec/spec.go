// Package spec reads integration.yml, the single source of the integration's
// names: parameters, commands, arguments and outputs. Help text, argument
// checks and the consistency tests read it.
package spec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Integration is the part of integration.yml the executable uses.
type Integration struct {
	ID struct {
		ID string `yaml:"id"`
	} `yaml:"commonfields"`
	Name          string  `yaml:"name"`
	Description   string  `yaml:"description"`
	Configuration []Param `yaml:"configuration"`
	Script        struct {
		Script      string    `yaml:"script"`
		Type        string    `yaml:"type"`
		Subtype     string    `yaml:"subtype"`
		DockerImage string    `yaml:"dockerimage"`
		IsFetch     bool      `yaml:"isfetch"`
		Commands    []Command `yaml:"commands"`
	} `yaml:"script"`
}

// Param is one instance parameter.
type Param struct {
	Name            string   `yaml:"name"`
	Display         string   `yaml:"display"`
	DisplayPassword string   `yaml:"displaypassword"`
	Type            int      `yaml:"type"`
	Default         string   `yaml:"defaultvalue"`
	Section         string   `yaml:"section"`
	Advanced        bool     `yaml:"advanced"`
	Hidden          bool     `yaml:"hidden"`
	Required        bool     `yaml:"required"`
	Options         []string `yaml:"options"`
	Info            string   `yaml:"additionalinfo"`
}

// Label is the name a person sees for the parameter.
func (p Param) Label() string {
	if p.Display != "" {
		return p.Display
	}
	return p.DisplayPassword
}

// Command is one command with its arguments and outputs.
type Command struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Arguments   []Argument `yaml:"arguments"`
	Outputs     []Output   `yaml:"outputs"`
}

// Argument is one command argument.
type Argument struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Required    bool     `yaml:"required"`
	Predefined  []string `yaml:"predefined"`
	Default     string   `yaml:"defaultValue"`
}

// Output is one declared context output.
type Output struct {
	ContextPath string `yaml:"contextPath"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
}

// Parse decodes integration.yml.
func Parse(data []byte) (*Integration, error) {
	var in Integration
	if err := yaml.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("integration.yml: %w", err)
	}
	return &in, nil
}

// Command returns the named command, or nil.
func (in *Integration) Command(name string) *Command {
	for i := range in.Script.Commands {
		if in.Script.Commands[i].Name == name {
			return &in.Script.Commands[i]
		}
	}
	return nil
}

// Param returns the named parameter, or nil.
func (in *Integration) Param(name string) *Param {
	for i := range in.Configuration {
		if in.Configuration[i].Name == name {
			return &in.Configuration[i]
		}
	}
	return nil
}
