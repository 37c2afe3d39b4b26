docker image ls my-alpine-image --format "{{.Repository}}:{{.Tag}} {{.ID}}"
