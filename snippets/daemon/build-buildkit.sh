DOCKER_BUILDKIT=1 docker build --progress=plain -t baked-image:buildkit .
