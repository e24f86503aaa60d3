# bindcheck admission webhook image: slim Python, pinned dependencies, non-root.
FROM python:3.11-slim AS build
WORKDIR /src
COPY docker/requirements.txt ./requirements.txt
RUN pip install --no-cache-dir --prefix=/install -r requirements.txt
COPY pyproject.toml README.md ./
COPY webhook ./webhook
COPY rules ./rules
# webhook/data/rules links to rules/; the wheel holds a real copy.
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM python:3.11-slim
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin bindcheck
COPY --from=build /install /usr/local
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8443
ENTRYPOINT ["bindcheck"]
CMD ["serve", "--cert-dir", "/etc/bindcheck/certs"]
