DOCKER_HOST=unix:///tmp/no-such-docker.sock docker version
