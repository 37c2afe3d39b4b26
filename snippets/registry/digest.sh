DIGEST=$(docker image inspect alpine:3.18 --format '{{index .RepoDigests 0}}')
echo "$DIGEST"
