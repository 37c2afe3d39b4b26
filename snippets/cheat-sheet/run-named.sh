docker run --name visitor alpine:3.18 echo "I ran and exited"
