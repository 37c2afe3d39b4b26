docker pull localhost:5999/alpine:3.18
