docker run -d -p 5000:5000 --name registry registry:2 &&
until curl --silent --output /dev/null http://localhost:5000/v2/; do sleep 0.2; done
