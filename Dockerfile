# syntax=docker/dockerfile:1
# vllm-factory-serve and vLLM in one image: the sidecar launches its vLLM instances inside the same
# container (kubernetes/deployment.yaml runs it). Built on the official vLLM OpenAI image, with a
# Java 21 runtime beside it and the sidecar's jar built in the first stage. Not built or pulled in
# this repository's CI (no registry access there): see README "More than one GPU VM".
#   docker build -t vllm-factory-serve:0.1.0 .
#   docker build --build-arg PLUGINS_PIP="<vllm-factory's Python package>" -t vllm-factory-serve:0.1.0 .
#   docker run --gpus all --shm-size 2g -p 8000:8000 -v /models:/models:ro vllm-factory-serve:0.1.0 \
#     --config /opt/vllm-factory-serve/config/gpu-vm.yaml --model /models/sauerkraut-gliner-vllm
# The vLLM release matches what the backends' command line is written for (vLLM >= 0.19).
ARG VLLM_IMAGE=vllm/vllm-openai:v0.19.0

# 1. The sidecar's jar and its libraries (tests run in CI, not here).
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -DskipTests -pl server -am package

# 2. A Java runtime (no compiler): the launcher runs the prebuilt jar and never builds in the image.
FROM eclipse-temurin:21-jre AS jre

FROM ${VLLM_IMAGE}
# IO processor plugins the models need (vllm-factory's mmbert_gliner_io, ...): pip requirement(s),
# installed next to the image's vLLM; empty installs none.
ARG PLUGINS_PIP=""
RUN if [ -n "$PLUGINS_PIP" ]; then uv pip install --system $PLUGINS_PIP; fi
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk \
    VLLM_FACTORY_NO_BUILD=1 \
    HOME=/home/vllm
# uid 1000, as kubernetes/deployment.yaml's runAsUser (some Ubuntu bases have a user with it already).
RUN (getent passwd 1000 >/dev/null || useradd --uid 1000 --user-group --no-create-home --shell /usr/sbin/nologin vllm) \
    && mkdir -p /home/vllm /var/log/vllm-factory-serve \
    && chown 1000:1000 /home/vllm /var/log/vllm-factory-serve
WORKDIR /opt/vllm-factory-serve
# The layout bin/vllm-factory-serve expects: the jar under server/target/, no pom.xml (so it never builds).
COPY bin/vllm-factory-serve bin/
COPY bin/lib/build.sh bin/lib/find-java.sh bin/lib/
COPY config/gpu-vm.yaml config/
COPY --from=build /src/server/target/vllm-factory-serve.jar server/target/
COPY --from=build /src/server/target/libs server/target/libs
USER 1000:1000
EXPOSE 8000 8001
# The public /health: 200 while a backend serves; 503 while none does and while draining. Loading
# the models one after another takes minutes, hence the long start period.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15m --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["/opt/vllm-factory-serve/bin/vllm-factory-serve"]
CMD ["--config", "/opt/vllm-factory-serve/config/gpu-vm.yaml"]
