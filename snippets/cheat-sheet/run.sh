docker run --rm alpine:3.18 cat /etc/alpine-release
