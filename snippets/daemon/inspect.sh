docker image inspect baked-image --format "ID: {{.Id}}
Tags: {{.RepoTags}}
Platform: {{.Os}}/{{.Architecture}}
Command: {{.Config.Cmd}}
Layers: {{len .RootFS.Layers}}"
