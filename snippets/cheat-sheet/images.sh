docker image ls my-alpine-image
