package medbundle.oracle;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationOptions;
import ca.uhn.fhir.validation.ValidationResult;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.utilities.npm.NpmPackage;

import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The official HL7 instance validator (org.hl7.fhir.validation, wrapped by HAPI FHIR) run offline:
 * the R4 core definitions come from hapi-fhir-validation-resources-r4, IG packages from local npm
 * tarballs (--pkg), terminology from the in-memory and common-code-system services. No terminology
 * server, no package server.
 *
 * Usage: java -cp ... medbundle.oracle.Oracle [--pkg FILE.tgz]... [--profile URL] FILE.json...
 * Prints one JSON line per file: {"file": ..., "issues": [{"severity", "location", "message",
 * "id"}]}.
 */
public final class Oracle {
  public static void main(String[] args) throws Exception {
    FhirContext ctx = FhirContext.forR4();
    PrePopulatedValidationSupport packages = new PrePopulatedValidationSupport(ctx);
    List<String> files = new ArrayList<>();
    String profile = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--pkg")) {
        load(ctx, packages, args[++i]);
      } else if (args[i].equals("--profile")) {
        profile = args[++i];
      } else {
        files.add(args[i]);
      }
    }
    ValidationSupportChain chain = new ValidationSupportChain(
        packages,
        new DefaultProfileValidationSupport(ctx),
        new CommonCodeSystemsTerminologyService(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx),
        new SnapshotGeneratingValidationSupport(ctx));
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    module.setAnyExtensionsAllowed(true);
    FhirValidator validator = ctx.newValidator().registerValidatorModule(module);
    ValidationOptions options = new ValidationOptions();
    if (profile != null) {
      options.addProfile(profile);
    }
    for (String file : files) {
      String text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
      StringBuilder out = new StringBuilder("{\"file\":").append(q(file)).append(",\"issues\":[");
      try {
        ValidationResult result = validator.validateWithResult(text, options);
        boolean first = true;
        for (SingleValidationMessage m : result.getMessages()) {
          if (!first) {
            out.append(',');
          }
          first = false;
          out.append("{\"severity\":").append(q(m.getSeverity().getCode()))
              .append(",\"location\":").append(q(m.getLocationString()))
              .append(",\"message\":").append(q(m.getMessage()))
              .append(",\"id\":").append(q(m.getMessageId())).append('}');
        }
      } catch (Exception e) {
        out.append("{\"severity\":\"fatal\",\"location\":\"\",\"message\":")
            .append(q(e.toString())).append(",\"id\":\"exception\"}");
      }
      System.out.println(out.append("]}"));
      System.out.flush();
    }
  }

  private static void load(FhirContext ctx, PrePopulatedValidationSupport target, String tgz)
      throws Exception {
    try (InputStream in = new FileInputStream(tgz)) {
      NpmPackage pkg = NpmPackage.fromPackage(in);
      for (String name : pkg.listResources("StructureDefinition", "ValueSet", "CodeSystem")) {
        try (InputStream r = pkg.loadResource(name)) {
          IBaseResource res = ctx.newJsonParser().parseResource(r);
          target.addResource(res);
        } catch (Exception e) {
          System.err.println("oracle: skipped " + name + " from " + tgz + ": " + e);
        }
      }
    }
  }

  private static String q(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.append('"').toString();
  }
}
