docker info --format 'Server version:   {{.ServerVersion}}
Storage driver:   {{.Driver}}
Registry mirrors: {{.RegistryConfig.Mirrors}}
Images:           {{.Images}}
Containers:       {{.Containers}}'
