package example;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Java example (the {@code java} block after {@code <!-- api-example -->}) compiles,
 * as a user would compile it, against vitq's classes, and uses no class of vitq but {@code io.vitq.Vitq}.
 */
class ReadmeExampleTest {
    @Test
    void readmeJavaExampleCompiles(@TempDir Path tmp) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        Matcher m = Pattern.compile("<!-- api-example -->\\s*```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "README.md has a ```java block after <!-- api-example -->");
        String code = m.group(1);
        Matcher cls = Pattern.compile("public class (\\w+)").matcher(code);
        assertTrue(cls.find(), "the example is a public class");
        for (String line : code.lines().filter(l -> l.startsWith("import io.vitq")).toList())
            assertEquals("import io.vitq.Vitq;", line.strip(), "the example imports the public API only");
        Path src = tmp.resolve(cls.group(1) + ".java");
        Files.writeString(src, code);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-d", tmp.resolve("classes").toString(),
                "-cp", System.getProperty("java.class.path"), src.toString());
        assertEquals(0, rc, "the README example does not compile:\n" + err);
        assertTrue(Files.exists(tmp.resolve("classes").resolve(cls.group(1) + ".class")));
    }
}
