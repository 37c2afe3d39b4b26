docker ps --all --format "{{.Names}}  {{.Image}}  {{.Status}}"
