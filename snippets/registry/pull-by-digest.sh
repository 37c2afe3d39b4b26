docker pull "$DIGEST"
