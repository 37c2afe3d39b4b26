docker pull localhost:5000/alpine:3.99
