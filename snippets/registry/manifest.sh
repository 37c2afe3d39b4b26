curl --silent --head \
  --header "Accept: application/vnd.oci.image.index.v1+json" \
  --header "Accept: application/vnd.oci.image.manifest.v1+json" \
  --header "Accept: application/vnd.docker.distribution.manifest.v2+json" \
  http://localhost:5000/v2/my-alpine-image/manifests/1.0
