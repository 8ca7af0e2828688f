import Curl; import JSONSchema; import LinuxSystem; import GRDB; import TOMLKit; import Crypto; import Logging; import ServiceLifecycle
