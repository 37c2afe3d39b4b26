docker image ls --format "{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}"
